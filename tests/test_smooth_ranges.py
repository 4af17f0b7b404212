"""Smooth mode stays in the physical range, with finite gradients (hypothesis).

Random designs around a preset: every chip and system field scaled by up to 1e3 either way
or set to a boundary of its range (0 for the non-negative fields, 1 for the fractions and
counts), relaxed (real-valued) tp, pp, ep, dp and batch in their ranges including both ends
(ep up to the expert count, past tp as the search's soft order bound allows), and p-norm
sharpness 2 to 32 (the search's continuation). At every such point every metric is finite
and >= 0 in SMOOTH mode, and its gradient w.r.t. every chip, system and mapping field is
finite. One compiled value-and-Jacobian program serves every example.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codesign as cd
from codesign.design.fields import field_range
from codesign.specs import numeric_fields, replace

#: An HBM GPU on a switch with a MoE (all-to-all over ep, yields below 1 when dies grow) at
#: fp8 weights; its chips_per_node drawn down to 1 is the one-chip-node case of cerebras-wse3
#: (where the smooth min of (tp, chips_per_node) dipped below one chip: negative TTFT).
HARDWARE, MODEL, WEIGHT_DTYPE = "h100-sxm", "mixtral-8x7b", "fp8"
#: Fields that must stay positive for the design to exist (build_design refuses 0 memory and
#: unsupported formats); everything else may reach 0 when its range allows.
KEEP_POSITIVE = ("hbm_bytes", "hbm_bw_bytes_per_s", "fp8_flops_per_s", "bf16_flops_per_s")
DERIVED = ("reference_build_cost_usd", "reference_clock_hz")  # fixed on load, not design inputs
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _setup():
    d = cd.build_design({"hardware": HARDWARE, "model": MODEL, "weight_dtype": WEIGHT_DTYPE})
    return d.chip, d.system, d.workload, d.scenario


@functools.lru_cache(maxsize=None)
def _value_and_jacobian():
    _, _, w, sc = _setup()

    def metrics(chip, system, mapping, p):
        met = cd.evaluate(chip, system, w, mapping, sc, cd.Fidelity(smooth=True, sharpness=p))
        return jnp.stack([getattr(met, k) for k in cd.METRIC_NAMES])

    return jax.jit(lambda c, s, m, p: (metrics(c, s, m, p), jax.jacrev(metrics, argnums=(0, 1, 2))(c, s, m, p)))


def _field(spec, name):
    v = float(getattr(spec, name))
    r = field_range(spec, name)
    if name in DERIVED or v == 0:
        return st.just(v)
    lo = 1e-3 * v if (r.lo_open or name in KEEP_POSITIVE) else r.lo
    hi = min(r.hi, 1e3 * v)
    edges = st.sampled_from([x for x in (lo, r.lo if r.integer else None, hi) if x is not None])
    scaled = st.floats(-3.0, 3.0).map(lambda e: float(np.clip(v * 10.0 ** e, lo, hi)))
    return st.one_of(edges, scaled)


def _spec(spec):
    return st.fixed_dictionaries({k: _field(spec, k) for k in numeric_fields(spec)}).map(
        lambda kw: replace(spec, **{k: np.float32(x) for k, x in kw.items()}))


def _relaxed(lo, hi):
    return st.one_of(st.sampled_from([lo, hi]), st.floats(lo, hi))


@st.composite
def designs(draw):
    chip, system, w, _ = _setup()
    tp = draw(_relaxed(1.0, float(w.n_heads)))
    ep = draw(_relaxed(1.0, float(w.n_experts)))
    mapping = cd.Mapping(tp=np.float32(tp), pp=np.float32(draw(_relaxed(1.0, float(w.layers)))),
                         ep=np.float32(ep), dp=np.float32(draw(_relaxed(1.0, 8.0))),
                         batch=np.float32(draw(_relaxed(1.0, 1024.0))))
    p = np.float32(draw(st.sampled_from([2.0, 8.0, 32.0])))
    return draw(_spec(chip)), draw(_spec(system)), mapping, p


def test_the_drawn_ranges_reach_the_failing_corner():
    """The strategy can draw a one-chip node with tp at 1 (the case that went negative)."""
    _, system, w, _ = _setup()
    assert field_range(system, "chips_per_node").lo == 1.0
    assert float(system.chips_per_node) > 1.0 and float(w.n_experts) > 1.0


@SETTINGS
@given(designs())
def test_smooth_metrics_are_finite_nonnegative_with_finite_gradients(design):
    chip, system, mapping, p = design
    values, (d_chip, d_system, d_mapping) = _value_and_jacobian()(chip, system, mapping, p)
    values = np.asarray(values)
    names = np.array(cd.METRIC_NAMES)
    assert np.isfinite(values).all(), f"non-finite: {names[~np.isfinite(values)]}"
    assert (values >= 0).all(), f"negative: {dict(zip(names[values < 0], values[values < 0]))}"
    for which, tree in (("chip", d_chip), ("system", d_system), ("mapping", d_mapping)):
        for field in numeric_fields(tree):
            g = np.asarray(getattr(tree, field))
            assert np.isfinite(g).all(), f"d {names[~np.isfinite(g)]} / d {which}.{field} not finite"
