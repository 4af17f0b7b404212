"""Layer 4: objectives and constraints over the cost model; problems over design spaces."""
from .constraints import BUILT_IN, Bound, Constraints, divisibility_violation, parse_constraints
from .metrics import MAXIMIZE, check_metric, sense
from .objective import Objective, parse_objective
from .problem import PROBLEM_KEYS, Evaluation, Problem, parse_problem, split_config

__all__ = ["BUILT_IN", "Bound", "Constraints", "divisibility_violation", "parse_constraints", "MAXIMIZE",
           "check_metric", "sense", "Objective", "parse_objective", "PROBLEM_KEYS", "Evaluation",
           "Problem", "parse_problem", "split_config"]
