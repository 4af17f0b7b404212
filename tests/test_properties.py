"""Property-based tests (hypothesis) of the cost model's invariants over random designs: an
SRAM machine on direct links, an HBM GPU on a switch and a 2-D-torus TPU, dense and MoE
models, random mappings and request shapes. Each hardware compiles one batched evaluation
per fidelity; the examples only feed it new numbers."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codesign as cd
from codesign.specs import replace

#: hardware -> (weight dtype, KV/activation dtype) it serves at.
#: Smooth-fidelity tests use the first two only (each hardware x fidelity is one compilation).
HARDWARE = {"groq-lpu-v1": ("int8", "fp16"), "h100-sxm": ("fp8", "fp16"), "tpu-v5e": ("bf16", "bf16")}
SMOOTH_HARDWARE = ("groq-lpu-v1", "h100-sxm")
MODELS = ("llama-2-70b", "mixtral-8x7b")
DIVISORS_OF_BOTH = (1.0, 2.0, 4.0, 8.0, 16.0)  # pp dividing 80 and 32 layers
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
POSITIVE = ("decode_s_per_token", "ttft_s", "throughput_tokens_per_s", "power_w", "idle_power_w",
            "joules_per_token", "chip_price_usd", "capex_usd", "opex_usd_per_year", "tco_usd",
            "usd_per_million_tokens")


@functools.lru_cache(maxsize=None)
def _evaluate_batch(fidelity):
    return jax.jit(jax.vmap(lambda c, s, w, m, sc: cd.evaluate(c, s, w, m, sc, fidelity)))


def evaluate_all(designs, fidelity=cd.EXACT):
    """Evaluate two (chip, system, workload, mapping, scenario) of one hardware as one batch
    (one shape, so one compilation per hardware and fidelity); returns Metrics of numpy arrays."""
    assert len(designs) == 2
    stacked = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x, jnp.float32) for x in xs]), *designs)
    return jax.tree.map(np.asarray, _evaluate_batch(fidelity)(*stacked))


@st.composite
def designs(draw, pps=tuple(float(p) for p in range(1, 81)), relaxed=False, hardware=tuple(sorted(HARDWARE))):
    """(hardware name, chip, system, workload, mapping, scenario)."""
    name = draw(st.sampled_from(hardware))
    hw = cd.load_hardware(name)
    model = draw(st.sampled_from(MODELS))
    wdt, adt = HARDWARE[name]
    w = cd.load_model(model).workload(wdt, adt, adt)
    tp = draw(st.sampled_from((1.0, 2.0, 4.0, 8.0)))
    ep = draw(st.sampled_from([e for e in (1.0, 2.0, 4.0, 8.0) if e <= tp])) if model.startswith("mixtral") else 1.0
    pp = draw(st.sampled_from(pps))
    batch = float(draw(st.integers(1, 256)))
    if relaxed:  # the non-integer points the gradient search visits
        tp, pp, batch = (x * draw(st.floats(1.0, 1.5)) for x in (tp, pp, batch))
    m = cd.Mapping(tp=tp, pp=pp, ep=ep, dp=float(draw(st.integers(1, 4))), batch=batch)
    sc = cd.Scenario(float(draw(st.integers(16, 4096))), float(draw(st.integers(1, 1024))))
    return name, hw.chip, hw.system, w, m, sc


def _uncapped(design):
    """The design with no binding power cap (the core clock stays as configured)."""
    name, chip, *rest = design
    return (name, replace(chip, power_cap_w=1e9), *rest)


def _pair(design, chip2=None, system2=None, m2=None):
    _, chip, system, w, m, sc = design
    return evaluate_all([(chip, system, w, m, sc), (chip2 or chip, system2 or system, w, m2 or m, sc)])


@SETTINGS
@given(designs(), st.floats(1.0, 16.0))
def test_more_memory_bandwidth_never_slows(design, factor):
    design = _uncapped(design)  # timing at a fixed clock; the power cap's invariants: test_power.py
    chip = design[1]
    field = "sram_bw_bytes_per_s" if chip.memory_kind == "sram" else "hbm_bw_bytes_per_s"
    r = _pair(design, chip2=replace(chip, **{field: getattr(chip, field) * factor}))
    assert r.decode_s_per_token[1] <= r.decode_s_per_token[0] * (1 + 1e-6)
    assert r.ttft_s[1] <= r.ttft_s[0] * (1 + 1e-6)
    assert r.throughput_tokens_per_s[1] >= r.throughput_tokens_per_s[0] * (1 - 1e-6)
    assert r.decode_memory_s[1] == pytest.approx(r.decode_memory_s[0] / factor, rel=1e-5)


@SETTINGS
@given(designs(), st.floats(1.0, 16.0), st.floats(1.0, 16.0))
def test_more_link_bandwidth_never_slows(design, on_node, across_nodes):
    design = _uncapped(design)
    _, chip, system, *_ = design
    r = _pair(design, chip2=replace(chip, link_bw_bytes_per_s=chip.link_bw_bytes_per_s * on_node),
              system2=replace(system, inter_node_bw_bytes_per_s=system.inter_node_bw_bytes_per_s * across_nodes))
    assert r.decode_s_per_token[1] <= r.decode_s_per_token[0] * (1 + 1e-6)
    assert r.ttft_s[1] <= r.ttft_s[0] * (1 + 1e-6)
    assert r.decode_comm_s[1] <= r.decode_comm_s[0] * (1 + 1e-6)


@SETTINGS
@given(designs(), st.sampled_from((1.0, 2.0, 4.0, 8.0)), st.integers(0, 40))
def test_more_chips_never_shrink_capacity(design, tp_factor, extra_pp):
    """More tensor or pipeline parallelism: never more bytes per chip, never a smaller batch."""
    m = design[4]
    bigger = replace(m, tp=min(m.tp * tp_factor, 8.0), pp=m.pp + extra_pp)
    bigger = replace(bigger, ep=min(m.ep, bigger.tp))
    r = _pair(design, m2=bigger)
    assert r.memory_per_chip_bytes[1] <= r.memory_per_chip_bytes[0] * (1 + 1e-6)
    assert r.weight_bytes_per_chip[1] <= r.weight_bytes_per_chip[0] * (1 + 1e-6)
    assert r.max_batch[1] >= r.max_batch[0]
    assert r.fits[1] >= r.fits[0]


@SETTINGS
@given(designs(hardware=SMOOTH_HARDWARE), designs(relaxed=True, hardware=SMOOTH_HARDWARE), st.floats(0.05, 20.0),
       st.sampled_from([cd.EXACT, cd.SMOOTH]))
def test_energy_and_cost_positive_and_finite(design, relaxed, capacity_factor, fidelity):
    """Including designs that do not fit (capacity scaled down) and relaxed mappings."""
    _, chip, system, w, m, sc = design
    chip = replace(chip, sram_bytes=chip.sram_bytes * capacity_factor, hbm_bytes=chip.hbm_bytes * capacity_factor)
    relaxed = (chip, system, w) + relaxed[4:] if relaxed[0] == design[0] else (chip, system, w, m, sc)
    r = evaluate_all([(chip, system, w, m, sc), relaxed], fidelity)
    for k in POSITIVE:
        v = getattr(r, k)
        assert np.all(np.isfinite(v)) and np.all(v > 0), k
    assert np.all(np.isfinite(r.memory_overflow_bytes)) and np.all(r.memory_overflow_bytes >= 0)


@SETTINGS
@given(designs(pps=DIVISORS_OF_BOTH, hardware=SMOOTH_HARDWARE))
def test_smooth_converges_to_exact(design):
    """Where no ceil is relaxed (pp divides the layers, no tile padding, the prompt in one
    prefill chunk), the p-norm model tends to the exact one."""
    _, chip, system, w, m, sc = design
    chip = replace(chip, matrix_tile_rows=1.0)
    sc = replace(sc, prefill_chunk_tokens=sc.prompt_tokens)
    one = [(chip, system, w, m, sc)] * 2
    exact = evaluate_all(one)
    keys = ("decode_s_per_token", "ttft_s", "throughput_tokens_per_s", "joules_per_token", "usd_per_million_tokens")
    sharp = evaluate_all(one, cd.Fidelity(smooth=True, sharpness=2048.0))
    for k in keys:
        assert getattr(sharp, k)[0] == pytest.approx(getattr(exact, k)[0], rel=3e-3), k
