"""Hardware presets of 2026 (issue 10): Groq 3 LPX (groq-lp30), GB200/GB300 NVL72, B300,
MI325X, MI355X, TPU7x. Every number sourced; the NVL72 rack is one NVLink node; every (new
hardware x model preset) pair evaluates to finite numbers or a ConfigError that says why.

The pair loop builds every design (the CLI's defaults) and evaluates them grouped by static
structure (names stripped: they are static fields but never enter the arithmetic), one
vmapped compile per group, as codesign.validation.predict does for the measurement rows."""
import dataclasses
import json
from collections import defaultdict

import jax
import numpy as np
import pytest

import codesign as cd
from codesign.config import load_hardware, load_model, model_names
from codesign.specs import numeric_fields
from codesign.workflows import presets
from codesign.workflows.evaluate import hardware_groups, result_dict

NEW = ("groq-lp30", "gb200-nvl72", "gb300-nvl72", "b300", "mi325x", "mi355x", "tpu-v7")
TAGS = ("[P]", "[S", "[D]", "[D/", "[R]", "[R/", "[Q]", "[assumption]", "[P-S]", "[S-P]", "= tdp_w")


def _anonymous(specs):
    return tuple(dataclasses.replace(s, name="") if hasattr(s, "name") else s for s in specs)


def _evaluate_grouped(designs: dict) -> dict:
    """{key: Metrics of designs[key]}: one jitted, vmapped evaluation per static structure."""
    groups = defaultdict(list)
    for key, d in designs.items():
        specs = _anonymous(d.specs)
        groups[jax.tree_util.tree_structure(specs)].append((key, specs))
    out = {}
    batched = jax.jit(jax.vmap(cd.evaluate))
    for members in groups.values():
        stacked = jax.tree.map(lambda *xs: np.stack([np.asarray(x, np.float32) for x in xs]),
                               *[s for _, s in members])
        metrics = batched(*stacked)
        for i, (key, _) in enumerate(members):
            out[key] = jax.tree.map(lambda x: x[i], metrics)  # noqa: B023 (used at once)
    return out


@pytest.fixture(scope="module")
def pairs():
    """Every (new hardware x model preset in the catalog) pair at the CLI's default mapping:
    {(hw, model): ("ok", design, result dict) or ("error", message)}; plus the two designs of
    the NVLink-domain check under keys ("nvl72", ...)."""
    designs, out = {}, {}
    for hw in NEW:
        for m in model_names():
            try:
                designs[(hw, m)] = cd.build_design({"hardware": hw, "model": m})
            except cd.ConfigError as e:
                out[(hw, m)] = ("error", str(e))
    # Same chip, same tp 16: the 72-GPU NVLink node vs the same GPUs in 8-GPU nodes (the
    # tensor-parallel group then spans two nodes and the InfiniBand network).
    base = {"hardware": "gb200-nvl72", "model": "llama-3.1-70b", "tp": 16, "pp": 1}
    designs[("nvl72", "rack")] = cd.build_design(base)
    designs[("nvl72", "split")] = cd.build_design({**base, "system": {"chips_per_node": 8}})
    for key, metrics in _evaluate_grouped(designs).items():
        out[key] = ("ok", designs[key], result_dict(designs[key], metrics))
    return out


def test_new_presets_load_with_a_source_for_every_number():
    for name in NEW:
        hw = load_hardware(name)
        fields = [f"chip.{f}" for f in numeric_fields(cd.Chip)] + [f"system.{f}" for f in numeric_fields(cd.System)]
        for f in fields:
            src = hw.sources[f]
            assert isinstance(src, str) and len(src) > 10, (name, f)
            if not f.endswith(("reference_build_cost_usd", "reference_clock_hz")):
                assert any(t in src for t in TAGS), (name, f, src)
        assert hw.vendor and hw.generation and 2020 <= hw.year <= 2026 and hw.family, name


def test_headline_numbers_are_the_published_ones():
    lp, gb2, gb3 = load_hardware("groq-lp30"), load_hardware("gb200-nvl72"), load_hardware("gb300-nvl72")
    b3, m325, m355, tpu = (load_hardware(n) for n in ("b300", "mi325x", "mi355x", "tpu-v7"))
    # Groq 3 LPX: 500 MB SRAM and 150 TB/s per LP30, 9.6 PFLOPS FP8 per 8-chip tray, 32 trays.
    assert lp.chip.memory_kind == "sram" and float(lp.chip.hbm_bytes) == 0.0
    assert float(lp.chip.sram_bytes) == 500e6 and float(lp.chip.sram_bw_bytes_per_s) == 150e12
    assert float(lp.chip.fp8_flops_per_s) * 8 == pytest.approx(9.6e15)
    per_rack = float(lp.system.chips_per_node * lp.system.nodes_per_rack)
    assert per_rack == 256 and per_rack * float(lp.chip.sram_bytes) == pytest.approx(128e9)  # NVIDIA: 128 GB per rack
    # C2C: 96 links x 112 Gb/s = 1.344 TB/s raw per direction; 2.5 TB/s bidirectional quoted.
    assert float(lp.chip.link_bw_bytes_per_s + lp.system.inter_node_bw_bytes_per_s) == pytest.approx(2.5e12 / 2)
    # NVL72: 72 GPUs in one NVLink switch domain; rack FP4 dense = 1,440 sparse / 2 (GB200), 1,080 (GB300).
    for hw, fp4_rack, hbm in ((gb2, 720e15, 186e9), (gb3, 1080e15, 279e9)):
        assert float(hw.system.chips_per_node) == 72 and hw.system.intra_topology == "switch"
        assert float(hw.system.nodes_per_rack) == 1 and float(hw.chip.link_bw_bytes_per_s) == 900e9
        assert 72 * float(hw.chip.fp4_flops_per_s) == pytest.approx(fp4_rack)
        assert float(hw.chip.hbm_bytes) == hbm and 72 * float(hw.chip.hbm_bw_bytes_per_s) == pytest.approx(576e12)
    assert (float(gb2.chip.tdp_w), float(gb3.chip.tdp_w)) == (1200.0, 1400.0)
    assert 8 * float(b3.chip.fp4_flops_per_s) == pytest.approx(108e15) and float(b3.chip.hbm_bytes) == 270e9
    assert float(m325.chip.hbm_bytes) == 256e9 and float(m325.chip.hbm_bw_bytes_per_s) == 6e12
    assert float(m325.chip.fp8_flops_per_s) == pytest.approx(2614.9e12) and float(m325.chip.fp4_flops_per_s) == 0
    assert float(m355.chip.hbm_bytes) == 288e9 and float(m355.chip.fp4_flops_per_s) == 10e15
    assert float(m355.chip.tdp_w) == 1400.0
    assert float(tpu.chip.fp8_flops_per_s) == 4614e12 and float(tpu.chip.bf16_flops_per_s) == 2307e12
    assert float(tpu.chip.hbm_bytes) == 192e9 and float(tpu.chip.hbm_bw_bytes_per_s) == 7.37e12
    assert tpu.system.intra_topology == "torus_3d" and 2 * float(tpu.chip.link_bw_bytes_per_s) == 1.2e12


def test_every_new_hardware_and_model_pair_gives_numbers_or_says_why(pairs):
    models = model_names()
    assert {k for k in pairs if k[0] != "nvl72"} == {(h, m) for h in NEW for m in models}
    ok = 0
    for (hw, m), entry in pairs.items():
        if hw == "nvl72":
            continue
        if entry[0] == "error":
            msg = entry[1]
            assert ("does not fit" in msg or "not supported" in msg) and m in msg and hw in msg, msg
            continue
        _, design, r = entry
        ok += 1
        json.dumps(r, allow_nan=False)  # strict JSON: no NaN or infinity anywhere in the report
        assert r["fits"] and r["buildable"], (hw, m)
        assert r["decode_tokens_per_s_per_user"] > 0 and r["throughput_tokens_per_s"] > 0 and r["power_w"] > 0
        assert r["usd_per_million_tokens"] > 0 and r["chips"] == r["tp"] * r["pp"] * r["dp"], (hw, m)
        if r["ep"] > 1:  # experts split over the tensor-parallel chips of one node
            assert r["ep"] <= r["tp"] <= float(design.system.chips_per_node), (hw, m)
    assert ok >= len(NEW) * len(models) * 0.8
    # The SRAM-only LP30 (500 MB per chip, at most 8 x 126 = 1,008 chips in one pipeline)
    # cannot hold a 405B model in 16 bits: refused by name, with the reason.
    assert pairs[("groq-lp30", "llama-3.1-405b")][0] == "error"


def test_cli_refuses_a_pair_that_does_not_fit_with_the_reason(codesign_cli):
    p = codesign_cli("evaluate", "--hardware", "groq-lp30", "--model", "llama-3.1-405b")
    assert p.returncode == 2 and "does not fit on groq-lp30" in p.stderr and "Traceback" not in p.stderr
    p = codesign_cli("evaluate", "--hardware", "tpu-v7", "--model", "llama-3.1-8b", "--weight-dtype", "int8")
    assert p.returncode == 2 and "not supported by tpu-v7" in p.stderr and "bf16, fp8" in p.stderr


def test_nvl72_keeps_tensor_and_expert_parallel_groups_inside_the_nvlink_domain(pairs):
    rack, split = pairs[("nvl72", "rack")][2], pairs[("nvl72", "split")][2]
    assert (rack["tp"], rack["nodes"], split["nodes"]) == (16, 1, 2)
    # Same chip and mapping: the all-reduces over NVLink (900 GB/s) beat those across two nodes (50 GB/s).
    assert rack["decode_s_per_token"] < split["decode_s_per_token"]
    # Default mappings: a model that fits in one NVL72 is tensor parallel across it (experts
    # split over the same GPUs), not pipelined inside it.
    for m, tp in (("llama-3.1-405b", 8),):
        r = pairs[("gb200-nvl72", m)][2]
        assert (r["tp"], r["pp"]) == (tp, 1) and "tensor parallel" in r["chosen"]["tp"], r["chosen"]
    if "deepseek-v3" in model_names():
        r = pairs[("gb200-nvl72", "deepseek-v3")][2]
        assert r["pp"] == 1 and r["ep"] == r["tp"] >= 8, (r["tp"], r["pp"], r["ep"])


def test_presets_listing_groups_hardware_by_vendor_and_generation(codesign_cli):
    out = presets()
    rows = out["hardware"]
    assert sorted(r["name"] for r in rows) == sorted(cd.hardware_names())
    assert out["hardware_groups"] == hardware_groups(rows)
    nvidia = next(g for g in out["hardware_groups"] if g["vendor"] == "NVIDIA")
    gens = [(g["generation"], g["year"]) for g in nvidia["generations"]]
    assert gens == [("Hopper", 2022), ("Blackwell", 2024), ("Blackwell Ultra", 2025), ("Groq 3 LPU (LP30)", 2026)]
    assert nvidia["generations"][2]["presets"] == ["b300", "gb300-nvl72"]
    nvl = next(r for r in rows if r["name"] == "gb200-nvl72")
    assert (nvl["chips_per_node"], nvl["intra_topology"]) == (72.0, "switch")
    assert set(nvl["peak_flops_per_s"]) == {"fp16", "bf16", "fp8", "int8", "fp4"}
    # Model features against the presets' own dimensions (a plain-Python reference).
    for r in out["models"]:
        w = load_model(r["name"]).workload()
        assert (r["n_experts"], r["experts_per_token"]) == (float(w.n_experts), float(w.experts_per_token))
        assert r["attention"] == w.attention and 0 < r["active_params"] <= r["params"]
        if not w.n_experts:  # dense: every weight but the input embedding (a lookup, not a matmul)
            assert r["params"] - r["active_params"] == pytest.approx(float(w.vocab * w.d_model), rel=1e-4), r["name"]
    models = {r["name"]: r for r in out["models"]}
    if "deepseek-v3" in models:
        d = models["deepseek-v3"]
        assert (d["attention"], d["n_experts"], d["experts_per_token"], d["n_shared_experts"]) == ("mla", 256, 8, 1)
    if "gpt-oss-120b" in models:
        assert models["gpt-oss-120b"]["sliding_window"] == 128 and models["gpt-oss-120b"]["expert_dtype"] == "mxfp4"
    p = codesign_cli("presets")
    assert p.returncode == 0, p.stderr
    text = p.stdout
    assert text.index("  NVIDIA\n") < text.index("   Hopper (2022)") < text.index("   Blackwell (2024)") \
        < text.index("   Blackwell Ultra (2025)") < text.index("gb300-nvl72") < text.index("   Groq 3 LPU (LP30) (2026)")
    assert "72 x switch" in text and "4 x torus_3d" in text
    j = codesign_cli("presets", "--json")
    assert json.loads(j.stdout)["hardware_groups"] == out["hardware_groups"]


def test_grouping_keys_are_validated(tmp_path, monkeypatch):
    from codesign.config import presets as cp  # noqa: PLC0415
    src = (cp.presets_dir() / "hardware" / "b300.yaml").read_text()
    (tmp_path / "hardware").mkdir()
    monkeypatch.setenv("CODESIGN_PRESETS", str(tmp_path))
    try:
        for good, bad in (("year: 2025", "year: 25x"), ("year: 2025", "year: true"), ("vendor: NVIDIA", "vendor: ''")):
            (tmp_path / "hardware" / "b300.yaml").write_text(src.replace(good, bad))
            cp._load_hardware.cache_clear()
            with pytest.raises(cd.ConfigError, match=good.split(":")[0] + " = .*allowed"):
                load_hardware("b300")
        (tmp_path / "hardware" / "b300.yaml").write_text(src.replace("vendor: NVIDIA\n", ""))
        cp._load_hardware.cache_clear()
        assert load_hardware("b300").vendor == ""  # optional: a user's own preset may leave it out
    finally:
        cp._load_hardware.cache_clear()
