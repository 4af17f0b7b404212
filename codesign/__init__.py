"""codesign: a differentiable cost model of LLM inference hardware, in JAX.

    import codesign as cd
    hw, md = cd.load_hardware("groq-lpu-v1"), cd.load_model("llama-2-70b")
    w = md.workload(weight_dtype="int8")
    m = cd.Mapping(tp=8., pp=72., ep=1., dp=1., batch=1.)
    metrics = cd.evaluate_jit(hw.chip, hw.system, w, m, cd.Scenario(2048., 256.))
"""
from .config import build_design, hardware_names, load_experiment, load_hardware, load_model, load_problem, model_names
from .errors import ConfigError
from .model import EXACT, SMOOTH, METRIC_NAMES, Fidelity, Metrics, evaluate, evaluate_jit
from .model.sensitivity import elasticities
from .progress import Progress
from .specs import Chip, Mapping, Scenario, System, Workload
from . import calibration, config, design, objectives, search, space, sweep, validation  # noqa: E402  (sub-packages)

__version__ = "0.1.0"
__all__ = [
    "Chip", "System", "Workload", "Mapping", "Scenario", "Metrics", "METRIC_NAMES", "Fidelity",
    "EXACT", "SMOOTH", "evaluate", "evaluate_jit", "elasticities", "build_design",
    "load_hardware", "load_model", "hardware_names", "model_names", "ConfigError",
    "calibration", "config", "design", "objectives", "search", "space", "sweep", "validation",
]
from . import workflows  # noqa: E402  (edge library: what the CLI does, as functions)
from . import analysis  # noqa: E402  (published analyses as library code: notebook 01, experiments/jia_*)
from .workflows import run_calibrate, run_optimize, run_pareto, run_sweep, run_validate  # noqa: E402
__all__ += ["Progress", "load_experiment", "load_problem", "workflows", "run_calibrate", "run_optimize",
            "run_pareto", "run_sweep", "run_validate", "analysis"]
