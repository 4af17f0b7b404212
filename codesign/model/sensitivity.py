"""Elasticities d ln(metric) / d ln(parameter) of metrics to every numeric hardware field,
by reverse-mode differentiation of the cost model.

An elasticity of -0.8 for (decode_s_per_token, chip.sram_bw_bytes_per_s) means 1% more
SRAM bandwidth gives 0.8% less time per token at this design point.
"""
import jax
import jax.numpy as jnp

from ..specs import Chip, Mapping, Scenario, System, Workload, numeric_fields
from .evaluate import evaluate
from .smooth import EXACT, Fidelity

#: Metrics reported by default.
SENSITIVITY_METRICS = ("decode_s_per_token", "ttft_s", "throughput_tokens_per_s", "joules_per_token",
                       "power_w", "capex_usd", "tco_usd", "usd_per_million_tokens")
#: Fields derived from others (not independent parameters).
_DERIVED = ("reference_build_cost_usd", "reference_clock_hz")


def hardware_parameter_names() -> tuple[str, ...]:
    chip = [f"chip.{n}" for n in numeric_fields(Chip) if n not in _DERIVED]
    return tuple(chip + [f"system.{n}" for n in numeric_fields(System)])


def _elasticity_fn(metrics, fidelity):
    def log_metrics(chip, system, w, m, sc):
        out = evaluate(chip, system, w, m, sc, fidelity)
        return jnp.stack([jnp.log(getattr(out, k)) for k in metrics])

    def fn(chip, system, w, m, sc):
        jac_chip, jac_sys = jax.jacrev(log_metrics, argnums=(0, 1))(chip, system, w, m, sc)
        # d ln m / d ln p = p x d ln m / d p
        scale = lambda jac, spec: jax.tree.map(lambda j, p: j * p, jac, spec)
        return scale(jac_chip, chip), scale(jac_sys, system)

    return jax.jit(fn)


_CACHE = {}


def elasticities(chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario,
                 metrics=SENSITIVITY_METRICS, fidelity: Fidelity = EXACT) -> dict:
    """``{metric: {"chip.field" | "system.field": elasticity}}`` at one design point."""
    key = (tuple(metrics), fidelity)
    if key not in _CACHE:
        _CACHE[key] = _elasticity_fn(tuple(metrics), fidelity)
    e_chip, e_sys = _CACHE[key](chip, system, w, m, sc)
    out = {k: {} for k in metrics}
    for prefix, spec in (("chip", e_chip), ("system", e_sys)):
        for name in numeric_fields(spec):
            if name in _DERIVED:
                continue
            col = getattr(spec, name)
            for i, k in enumerate(metrics):
                out[k][f"{prefix}.{name}"] = float(col[i])
    return out
