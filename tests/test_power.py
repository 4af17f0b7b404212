"""Power cap with frequency scaling, idle power and the active baseline of a busy chip
(codesign.model.energy). Goldens are hand-solved roots of the power equation; invariants run
one vmapped evaluation over caps; gradients are checked in float64 against finite differences."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import codesign as cd
from codesign.model.energy import busy_power_w, capped_clock_ratio
from codesign.specs import replace

EXACT, SMOOTH = cd.EXACT, cd.Fidelity(smooth=True, sharpness=8.0)


def _toy(cap, static=100.0, active=100.0):
    """h100-sxm with round power numbers at its reference clock (clock ratio 1)."""
    return replace(cd.load_hardware("h100-sxm").chip, static_power_w=static, active_baseline_w=active,
                   power_cap_w=cap)


def test_capped_clock_golden_compute_bound():
    """All time clock-scaled (tau(s) = tau s): P(r) = 100 + 100 r^3 + 0.2 J x 1000 tok/s x r^3
    = 100 + 300 r^3; a 300 W cap gives r^3 = 2/3, r = 0.873580."""
    tau = 1e-3
    r = capped_clock_ratio(EXACT, _toy(300.0), 0.2, 0.0, 1.0, tau, tau)
    assert float(r) == pytest.approx((2.0 / 3.0) ** (1.0 / 3.0), rel=1e-5)  # 0.873580
    # Check by substitution: the power at that clock is the cap.
    assert 100 + 100 * float(r) ** 3 + 200 * float(r) ** 3 == pytest.approx(300.0, rel=1e-5)


def test_capped_clock_golden_memory_bound():
    """No clock-scaled time (tau(s) = tau): P(r) = 100 + 100 r^3 + (0.1 r^2 + 0.1) J x 1000 tok/s;
    a 300 W cap: r^3 + r^2 = 1, r = 0.754878 (the real root)."""
    tau = 1e-3
    r = float(capped_clock_ratio(EXACT, _toy(300.0), 0.1, 0.1, 1.0, tau, 0.0))
    assert r == pytest.approx(0.7548776662, rel=1e-5)
    assert r ** 3 + r ** 2 == pytest.approx(1.0, rel=1e-5)


def test_cap_above_demand_keeps_the_clock():
    """400 W demanded at the configured clock: a 400 W or 1 kW cap leaves it (exactly 1)."""
    for cap in (400.0, 1000.0):
        assert float(capped_clock_ratio(EXACT, _toy(cap), 0.2, 0.0, 1.0, 1e-3, 1e-3)) == 1.0


def test_mixed_time_meets_the_cap_from_below():
    """Half the time clock-scaled: tau(s) = tau (0.5 + 0.5 s). Plain-Python bisection of the
    same power equation gives the root; the function's clock is at or just below it."""
    tau, core, mem, cap = 1e-3, 0.15, 0.1, 320.0

    def power(r):
        return 100 + 100 * r ** 3 + (core * r * r + mem) / (tau * (0.5 + 0.5 / r))

    lo, hi = 1e-6, 1.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if power(mid) <= cap else (lo, mid)
    r = float(capped_clock_ratio(EXACT, _toy(cap), core, mem, 1.0, tau, 0.5 * tau))
    assert r == pytest.approx(lo, rel=1e-5)
    assert power(r) <= cap * (1 + 1e-5)


@pytest.fixture(scope="module")
def h200_over_caps():
    """MLPerf-like H200 Llama-2-70B fp8, one GPU at batch 256, over power caps (one compile)."""
    hw, md = cd.load_hardware("h200-sxm"), cd.load_model("llama-2-70b")
    w = md.workload("fp8", "fp8", "fp16")
    m = cd.Mapping(tp=1.0, pp=1.0, ep=1.0, dp=1.0, batch=256.0)
    sc = cd.Scenario(512.0, 290.0)
    caps = np.array([250.0, 300.0, 400.0, 500.0, 600.0, 700.0, 1000.0, 1e6], np.float32)
    chips = jax.tree.map(lambda x: jnp.full(len(caps), x), hw.chip)
    chips = replace(chips, power_cap_w=jnp.asarray(caps))
    r = jax.jit(jax.vmap(lambda c: cd.evaluate(c, hw.system, w, m, sc)))(chips)
    return caps, hw.chip, jax.tree.map(np.asarray, r)


def test_chip_power_never_above_cap_and_near_it_when_binding(h200_over_caps):
    caps, chip, r = h200_over_caps
    demand = r.chip_power_w[-1]  # effectively uncapped
    assert 400.0 < demand < 1000.0  # so caps on both sides of the demand are tested
    assert np.all(r.chip_power_w <= caps * (1 + 1e-5))
    binding = caps < demand
    assert np.all(r.clock_hz[binding] < float(chip.clock_hz))
    assert np.all(r.clock_hz[~binding] == np.float32(chip.clock_hz))
    # The linear-time bound is exact where time is linear in 1/clock; here within 3% of the cap.
    assert np.all(r.chip_power_w[binding] >= 0.97 * caps[binding])
    # Power at the chip boundary: idle + active baseline x r^3 + dynamic energy x X / chips,
    # and node power adds the host share (1 of 8 GPUs of the node).
    ratio = r.clock_hz / float(chip.reference_clock_hz)
    busy = float(chip.static_power_w) + float(chip.active_baseline_w) * ratio ** 3
    dyn = r.chip_power_w - busy
    assert np.all(dyn > 0)
    host = float(cd.load_hardware("h200-sxm").system.host_power_w) / 8.0
    np.testing.assert_allclose(r.power_w, r.chip_power_w + host, rtol=1e-5)
    np.testing.assert_allclose(r.idle_power_w, float(chip.static_power_w) + host, rtol=1e-6)


def test_higher_cap_never_slows(h200_over_caps):
    _, _, r = h200_over_caps
    assert np.all(np.diff(r.throughput_tokens_per_s) >= -1e-6 * r.throughput_tokens_per_s[:-1])
    assert np.all(np.diff(r.decode_s_per_token) <= 1e-6 * r.decode_s_per_token[:-1])
    assert np.all(np.diff(r.clock_hz) >= 0)
    assert r.throughput_tokens_per_s[0] < 0.9 * r.throughput_tokens_per_s[-1]  # the cap does bind


def test_busy_power_scales_as_f_cubed():
    """Active baseline x (f / f_ref)^3 (f V^2 with V ~ f); idle power does not scale."""
    chip = _toy(700.0, static=70.0, active=140.0)
    half = replace(chip, clock_hz=0.5 * chip.clock_hz)
    assert float(busy_power_w(chip)) == pytest.approx(210.0)
    assert float(busy_power_w(half)) == pytest.approx(70.0 + 140.0 / 8)


@pytest.mark.parametrize("fid", [EXACT, SMOOTH], ids=["exact", "smooth"])
def test_capped_clock_gradients_float64(fid):
    """d r / d (cap, idle, active, energies, tau, slope) vs central finite differences, float64,
    at a binding cap (mixed time) where r is smooth in every input."""
    with jax.enable_x64(True):
        chip = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), _toy(320.0))

        def r_of(cap, static, active, core, mem, tau, slope):
            c = replace(chip, power_cap_w=cap, static_power_w=static, active_baseline_w=active)
            return capped_clock_ratio(fid, c, core, mem, 1.0, tau, slope)

        x = tuple(jnp.asarray(v, jnp.float64) for v in (320.0, 100.0, 100.0, 0.15, 0.1, 1e-3, 0.5e-3))
        assert 0.5 < float(r_of(*x)) < 0.99
        check_grads(r_of, x, order=1, modes=("rev",), eps=1e-6, atol=1e-6, rtol=1e-5)
        g = jax.grad(r_of)(*x)
        assert float(g) > 0  # a higher cap raises the clock
        assert math.isfinite(float(g))


def test_mapping_sets_the_power_cap_per_submission():
    """H200 700 W (preset), 1,000 W CTS and the 500 W MaxQ limit map to three power caps;
    a chip override outside CHIP_OVERRIDES is an issue naming what is allowed."""
    import yaml

    from codesign.config import CATALOG
    from codesign.config.measurements import default_paths
    from codesign.validation import build_cases, parse_measurements

    csvs, mapping_path = default_paths()
    rows = [r for p in csvs for r in parse_measurements(p.read_text(), p.name)[0]]
    ids = ("mlperf40_h200x8_srv", "mlperf40_h200ctsx8_off", "mlperf41_h200x8_maxq_off")
    rows = [r for r in rows if r.id in ids]
    mapping = yaml.safe_load(mapping_path.read_text())
    cases, _, issues = build_cases(rows, {k: mapping[k] for k in ids}, "map.yaml", catalog=CATALOG)
    caps = {c.row.id: float(c.design.chip.power_cap_w) for c in cases}
    assert caps == {"mlperf40_h200x8_srv": 700.0, "mlperf40_h200ctsx8_off": 1000.0,
                    "mlperf41_h200x8_maxq_off": 500.0} and not issues
    bad = dict(mapping["mlperf41_h200x8_maxq_off"], chip={"tdp_w": 500})
    _, _, issues = build_cases(rows[-1:], {rows[-1].id: bad}, "map.yaml", catalog=CATALOG)
    assert len(issues) == 1 and "chip overrides allowed: power_cap_w" in issues[0].message
