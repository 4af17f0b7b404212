"""Small problems with optima known in closed form, behind the same interface as
codesign.objectives.Problem (space, objective, constraints.names, pareto, evaluate)."""
import dataclasses
import math

import jax.numpy as jnp

from codesign.model import EXACT, METRIC_NAMES, Metrics
from codesign.objectives import Evaluation, Objective
from codesign.space import DesignSpace, Variable, Variant


@dataclasses.dataclass(frozen=True)
class Names:
    names: tuple


@dataclasses.dataclass(frozen=True, eq=False)
class Synthetic:
    space: DesignSpace
    objective: Objective
    constraints: Names
    fn: object  # x -> ({metric: value}, [g...])
    pareto: tuple = ()

    def evaluate(self, variant, x, fidelity=EXACT):
        values, g = self.fn(x)
        m = Metrics(**{k: jnp.asarray(values.get(k, 1.0), jnp.float32) for k in METRIC_NAMES})
        obj = self.objective(m)
        g = jnp.stack([jnp.asarray(gi, jnp.float32) for gi in g]) if g else jnp.zeros(0)
        return Evaluation(m, obj, g, jnp.all(g <= 0.0) & jnp.isfinite(obj))


def space(*variables):
    return DesignSpace((Variant({}, None),), tuple(variables))


def mixed_quadratic() -> tuple[Synthetic, dict, float]:
    """min J = (ln a - ln 1e7)^2 + 0.1 (b - 7.3)^2 + (ln c - ln 5)^2 over a in [1e6, 1e9]
    (log), b in 1..20, c in {1, 2, 4, 8, 16}: optimum a = 1e7, b = 7, c = 4."""
    def fn(x):
        a, b, c = x[0], x[1], x[2]
        j = (jnp.log(a) - math.log(1e7)) ** 2 + 0.1 * (b - 7.3) ** 2 + (jnp.log(c) - math.log(5.0)) ** 2
        return {"usd_per_million_tokens": jnp.exp(j)}, []

    sp = space(Variable("v.a", "continuous", 1e6, 1e9, True, num=7),
               Variable("v.b", "integer", 1.0, 20.0), Variable("v.c", "integer", choices=(1.0, 2.0, 4.0, 8.0, 16.0)))
    j_star = 0.1 * 0.3 ** 2 + (math.log(5.0) - math.log(4.0)) ** 2
    return (Synthetic(sp, Objective((("usd_per_million_tokens", 1.0),)), Names(()), fn),
            {"v.a": 1e7, "v.b": 7.0, "v.c": 4.0}, j_star)


def power_capped(cap: float = 100.0, x0_max: float = 80.0) -> tuple[Synthetic, dict, float]:
    """max x0 x1^0.7 subject to x0 x1 <= cap, x0 in [1, 80], x1 in {1, 2, 4, 8, 16}: the
    optimum x1 = 2, x0 = 50 lies on the constraint (x1 = 1, x0 = 80 is 1.5% worse)."""
    def fn(x):
        x0, x1 = x[0], x[1]
        return ({"throughput_tokens_per_s": x0 * x1 ** 0.7, "power_w": x0 * x1},
                [jnp.log(x0 * x1) - math.log(cap)])

    sp = space(Variable("v.x0", "continuous", 1.0, x0_max, num=int(x0_max)),
               Variable("v.x1", "integer", choices=(1.0, 2.0, 4.0, 8.0, 16.0)))
    j_star = -(math.log(50.0) + 0.7 * math.log(2.0))
    return (Synthetic(sp, Objective((("throughput_tokens_per_s", 1.0),)), Names((f"power_w <= {cap:g}",)), fn),
            {"v.x0": 50.0, "v.x1": 2.0}, j_star)


def impossible() -> Synthetic:
    """throughput = x0 >= 100 with x0 <= 50: no feasible design; the closest misses by 100%."""
    def fn(x):
        return ({"throughput_tokens_per_s": x[0], "usd_per_million_tokens": 1.0 + x[1]},
                [math.log(100.0) - jnp.log(x[0])])

    sp = space(Variable("v.x0", "continuous", 1.0, 50.0, num=50), Variable("v.x1", "integer", 1.0, 4.0))
    return Synthetic(sp, Objective((("usd_per_million_tokens", 1.0),)), Names(("throughput_tokens_per_s >= 100",)), fn)


def nan_below(threshold: float = 10.0) -> Synthetic:
    """min cost = x0 on [1, 100], but the model returns NaN below ``threshold``."""
    def fn(x):
        return {"usd_per_million_tokens": jnp.where(x[0] >= threshold, x[0], jnp.nan)}, []

    sp = space(Variable("v.x0", "continuous", 1.0, 100.0, True, num=100), Variable("v.x1", "integer", 1.0, 3.0))
    return Synthetic(sp, Objective((("usd_per_million_tokens", 1.0),)), Names(()), fn)


def integer_tradeoff() -> Synthetic:
    """Two integers a, b in 1..12: cost a + b (min) vs speed a^0.7 b^0.3 (max)."""
    def fn(x):
        a, b = x[0], x[1]
        return {"usd_per_million_tokens": a + b, "decode_tokens_per_s_per_user": a ** 0.7 * b ** 0.3}, []

    sp = space(Variable("v.a", "integer", 1.0, 12.0), Variable("v.b", "integer", 1.0, 12.0))
    return Synthetic(sp, Objective((("usd_per_million_tokens", 1.0),)), Names(()), fn,
                     ("usd_per_million_tokens", "decode_tokens_per_s_per_user"))
