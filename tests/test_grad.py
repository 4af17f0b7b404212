"""Gradients: finite everywhere (incl. kinks and infeasible points), and correct in float64."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import codesign as cd
from codesign.specs import numeric_fields
from conftest import groq_design


def _metric_vector(chip, system, w, m, sc, fidelity):
    r = cd.evaluate(chip, system, w, m, sc, fidelity)
    return jnp.stack([getattr(r, k) for k in cd.METRIC_NAMES])


#: One compilation per fidelity, shared by every design of the same structure.
_jacobians = jax.jit(jax.jacrev(_metric_vector, argnums=(0, 1, 3)), static_argnames="fidelity")


def _all_metric_jacobians(design, fidelity):
    return _jacobians(*design, fidelity=fidelity)


@pytest.mark.parametrize("fidelity", [cd.EXACT, cd.SMOOTH], ids=["exact", "smooth"])
@pytest.mark.parametrize("case", ["fits", "overflows", "tp_at_node_size", "batch_below_pp"])
def test_every_metric_has_finite_gradient_wrt_every_field(groq, llama70b, fidelity, case):
    kw = {"fits": dict(pp=72.0, batch=4.0), "overflows": dict(pp=10.0),
          "tp_at_node_size": dict(tp=8.0, pp=40.0), "batch_below_pp": dict(pp=72.0, batch=3.0)}[case]
    design = groq_design(groq, llama70b, **kw)
    jacs = _all_metric_jacobians(design, fidelity)
    for leaf in jax.tree.leaves(jacs):
        assert np.all(np.isfinite(np.asarray(leaf)))
    # Every metric is a function of the hardware: something nonzero for the key ones (at one
    # token per micro-batch the VXM's dequantization of the int8 weights binds on the LPU).
    jac_chip = jacs[0]
    row = cd.METRIC_NAMES.index("decode_s_per_token")
    assert float(jnp.abs(jac_chip.vector_ops_per_s[row])) > 0


def _h100_mixtral():
    """An HBM GPU on a switch serving a MoE with expert parallelism (all-to-all), at a
    relaxed (non-integer) mapping as the gradient search sees it. (At integer group sizes of
    2 the one-shot step count 2 min(1, p - 1) has a kink that central differences straddle.)"""
    hw, md = cd.load_hardware("h100-sxm"), cd.load_model("mixtral-8x7b")
    return (hw.chip, hw.system, md.workload("fp8", "fp16", "fp16"),
            cd.Mapping(tp=7.3, pp=2.4, ep=2.6, dp=1.5, batch=15.5), cd.Scenario(1024.0, 256.0))


#: Relaxed (smooth-mode) mapping fields checked; ep only where the model has experts.
_MAPPING = {"groq": ("tp", "pp", "dp", "batch"), "h100_mixtral": ("tp", "pp", "ep", "dp", "batch")}
_LOG_METRICS = ("decode_s_per_token", "ttft_s", "throughput_tokens_per_s", "joules_per_token", "capex_usd",
                "tco_usd", "usd_per_million_tokens", "memory_per_chip_bytes", "min_chips")


@pytest.mark.parametrize("case", ["groq", "h100_mixtral"])
def test_gradient_matches_finite_differences_float64(groq, llama70b, case):
    """check_grads (reverse mode against central differences) in float64, in
    log-parameter space (fields span 1e-7 .. 1e14), over every nonzero chip field, every
    nonzero system field and the relaxed mapping fields at once, smooth fidelity."""
    with jax.enable_x64(True):
        design = groq_design(groq, llama70b, pp=72.0, batch=8.0) if case == "groq" else _h100_mixtral()
        chip, system, w, m, sc = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), design)
        groups = [(spec, [n for n in numeric_fields(spec) if float(getattr(spec, n)) > 0])
                  for spec in (chip, system)] + [(m, list(_MAPPING[case]))]
        log0 = jnp.log(jnp.array([float(getattr(spec, n)) for spec, names in groups for n in names]))
        assert log0.dtype == jnp.float64

        def log_metrics(logp):
            specs, i = [], 0
            for spec, names in groups:
                specs.append(cd.specs.replace(spec, **{n: jnp.exp(logp[i + k]) for k, n in enumerate(names)}))
                i += len(names)
            r = cd.evaluate(specs[0], specs[1], w, specs[2], sc, cd.SMOOTH)
            return jnp.stack([jnp.log(getattr(r, k)) for k in _LOG_METRICS])

        # Reverse mode (what search and sensitivities use) against central differences.
        check_grads(log_metrics, (log0,), order=1, modes=["rev"], eps=1e-4, atol=1e-6, rtol=1e-4)
        # Not vacuous: the metrics move with each group.
        jac = np.asarray(jax.jacrev(log_metrics)(log0))
        sizes = np.cumsum([0] + [len(names) for _, names in groups])
        for a, b in zip(sizes[:-1], sizes[1:]):
            assert np.abs(jac[:, a:b]).max() > 1e-3


def test_sensitivities_match_finite_difference_elasticity(groq, llama70b):
    design = groq_design(groq, llama70b, pp=72.0, batch=8.0)
    e = cd.elasticities(*design)
    chip = design[0]
    base = cd.evaluate_jit(*design).decode_s_per_token
    up = cd.evaluate_jit(cd.specs.replace(chip, sram_bw_bytes_per_s=chip.sram_bw_bytes_per_s * 1.001),
                         *design[1:]).decode_s_per_token
    fd = (np.log(float(up)) - np.log(float(base))) / np.log(1.001)
    assert e["decode_s_per_token"]["chip.sram_bw_bytes_per_s"] == pytest.approx(fd, rel=1e-2, abs=1e-4)
    # Tokens served scale with utilization (-1); average power, hence opex, rises slightly with it.
    assert -1.0 < e["usd_per_million_tokens"]["system.utilization"] < -0.99
