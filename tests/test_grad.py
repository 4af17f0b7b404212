"""Gradients: finite everywhere (incl. kinks and infeasible points), and correct in float64."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import codesign as cd
from codesign.specs import numeric_fields
from conftest import groq_design


def _all_metric_jacobians(design, fidelity):
    def f(chip, system, m):
        r = cd.evaluate(chip, system, design[2], m, design[4], fidelity)
        return jnp.stack([getattr(r, k) for k in cd.METRIC_NAMES])

    chip, system, _, m, _ = design
    return jax.jit(jax.jacrev(f, argnums=(0, 1, 2)))(chip, system, m)


@pytest.mark.parametrize("fidelity", [cd.EXACT, cd.SMOOTH], ids=["exact", "smooth"])
@pytest.mark.parametrize("case", ["fits", "overflows", "tp_at_node_size", "batch_below_pp"])
def test_every_metric_has_finite_gradient_wrt_every_field(groq, llama70b, fidelity, case):
    kw = {"fits": dict(pp=72.0, batch=4.0), "overflows": dict(pp=10.0),
          "tp_at_node_size": dict(tp=8.0, pp=40.0), "batch_below_pp": dict(pp=72.0, batch=3.0)}[case]
    design = groq_design(groq, llama70b, **kw)
    jacs = _all_metric_jacobians(design, fidelity)
    for leaf in jax.tree.leaves(jacs):
        assert np.all(np.isfinite(np.asarray(leaf)))
    # Every metric is a function of the hardware: something nonzero for the key ones.
    jac_chip = jacs[0]
    row = cd.METRIC_NAMES.index("decode_s_per_token")
    assert float(jnp.abs(jac_chip.sram_bw_bytes_per_s[row])) > 0


def test_gradient_matches_finite_differences_float64(groq, llama70b):
    """check_grads in log-parameter space (fields span 1e-7 .. 1e14)."""
    with jax.enable_x64(True):
        chip, system, w, m, sc = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64),
                                              groq_design(groq, llama70b, pp=72.0, batch=8.0))
        names = [n for n in numeric_fields(chip) if float(getattr(chip, n)) > 0]
        log0 = jnp.log(jnp.array([float(getattr(chip, n)) for n in names]))

        def usd_per_mtok(logp):
            c = cd.specs.replace(chip, **{n: jnp.exp(v) for n, v in zip(names, logp)})
            r = cd.evaluate(c, system, w, m, sc, cd.SMOOTH)
            return jnp.log(r.usd_per_million_tokens) + jnp.log(r.decode_s_per_token) + jnp.log(r.joules_per_token)

        check_grads(usd_per_mtok, (log0,), order=1, modes=["rev", "fwd"], eps=1e-4, atol=1e-6, rtol=1e-4)


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
