"""Measurement parsing (bad rows reported with their line), serving operating points, and
validate's numbers against independent evaluations of the same rows."""
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

import codesign as cd
from codesign.config import CATALOG
from codesign.config.measurements import default_paths
from codesign.model import serving
from codesign.validation import build_cases, parse_measurements
from conftest import assert_png

HEADER = "id,system,chips,model,precision,phase,batch_or_concurrency,metric,value,unit,source,notes\n"
GOOD = 'ok_row,"4x H100",4,Llama-3.1-70B,bf16,decode,8,decode_tokens_per_s_per_user,60.4,tok/s,src,n\n'


def run(*args):
    return subprocess.run([sys.executable, "-m", "codesign", *args], capture_output=True, text=True, timeout=300)


def test_malformed_rows_are_reported_with_their_line_and_skipped():
    text = (HEADER + GOOD
            + "short_row,a,b\n"                                                            # line 3
            + "bad_value,s,1,m,p,decode,1,decode_tokens_per_s_per_user,fast,tok/s,src,n\n"  # line 4
            + "no_source,s,1,m,p,decode,1,decode_tokens_per_s_per_user,5,tok/s,,n\n"        # line 5
            + "\n"                                                                          # line 6: blank
            + GOOD)                                                                         # line 7: duplicate
    rows, issues = parse_measurements(text, "m.csv")
    assert [r.id for r in rows] == ["ok_row"] and rows[0].line == 2 and rows[0].value == 60.4
    got = {(i.line, i.id) for i in issues}
    assert got == {(3, "short_row"), (4, "bad_value"), (5, "no_source"), (7, "ok_row")}
    msgs = {i.line: i.message for i in issues}
    assert "expected 12" in msgs[3] and "finite number" in msgs[4] and "source" in msgs[5]
    assert "duplicate id (first at line 2)" in msgs[7]
    assert str(issues[0]).startswith("m.csv:3: short_row:")


def test_unknown_rows_bad_entries_and_inexpressible_rows():
    text = HEADER + GOOD + 'stranger,s,1,m,p,decode,1,decode_tokens_per_s_per_user,5,tok/s,src,n\n' \
        + 'claim,s,,m,p,decode,1,joules_per_token,2,J/token,src,n\n' \
        + 'wrong_chips,s,3,m,p,decode,1,decode_tokens_per_s_per_user,5,tok/s,src,n\n'
    rows, _ = parse_measurements(text, "m.csv")
    why = {k: "because" for k in ("hardware", "model", "dtypes", "mapping", "tokens", "mode")}
    good = {"hardware": "h100-sxm", "model": "llama-3.1-70b", "weight_dtype": "bf16", "kv_dtype": "bf16",
            "tp": 4, "prompt_tokens": 200, "output_tokens": 350, "mode": "concurrency", "concurrency": 8,
            "why": why}
    mapping = {"ok_row": good, "claim": {"inexpressible": "generic claim"},
               "wrong_chips": good | {"why": why}, "ghost": {"inexpressible": "x"}}
    cases, inexpressible, issues = build_cases(rows, mapping, "map.yaml", catalog=CATALOG)
    assert [c.row.id for c in cases] == ["ok_row"] and cases[0].hardware == "h100-sxm"
    assert [(x.row.id, x.reason) for x in inexpressible] == [("claim", "generic claim")]
    by_id = {i.id: i for i in issues}
    assert by_id["stranger"].line == 3 and "no entry in map.yaml" in by_id["stranger"].message
    assert by_id["wrong_chips"].line == 5 and "states 3 chips" in by_id["wrong_chips"].message
    assert by_id[""].line == 0 and "1 entries have no measurement row in the files read: ghost" in by_id[""].message
    # A mapping that does not build a design, or lacks a reason, is an issue naming the problem.
    for bad, expect in ((good | {"tp": 3}), "does not divide"), ((good | {"why": {}}), "why must give a reason"):
        _, _, issues = build_cases(rows[:1], {"ok_row": bad}, "map.yaml", catalog=CATALOG)
        assert len(issues) == 1 and issues[0].line == 2 and expect in issues[0].message


def _h100_8b(batch=1.0):
    d = cd.build_design({"hardware": "h100-sxm", "model": "llama-3.1-8b", "chips": 1,
                         "prompt_tokens": 1024, "output_tokens": 256})
    return d.specs


def test_serving_points_by_brute_force():
    chip, system, w, m, sc = _h100_8b()
    batches = np.arange(1.0, 700.0)
    ms = cd.Mapping(tp=np.ones_like(batches), pp=np.ones_like(batches), ep=np.ones_like(batches),
                    dp=np.ones_like(batches), batch=batches)
    import jax
    grid = jax.jit(jax.vmap(lambda mm: cd.evaluate(chip, system, w, mm, sc)))(ms)
    fits = np.asarray(grid.fits) > 0
    off = serving.offline_jit(chip, system, w, m, sc)
    assert float(off.batch) == batches[fits].max() and float(off.feasible) == 1.0
    bound = 0.02  # 20 ms per token binds before memory does
    ok = fits & (np.asarray(grid.decode_s_per_token) <= bound)
    srv = serving.server_jit(chip, system, w, m, sc, bound)
    assert float(srv.batch) == batches[ok].max() < float(off.batch)
    per_user = np.asarray(grid.throughput_tokens_per_s) / batches
    ok_mean = fits & (1.0 / per_user <= bound)
    srv2 = serving.server_jit(chip, system, w, m, sc, bound, with_prefill=True)
    assert float(srv2.batch) == batches[ok_mean].max() < float(srv.batch)
    assert float(srv2.tokens_per_s_per_user) == pytest.approx(per_user[int(srv2.batch) - 1], rel=1e-5)
    at = serving.at_concurrency_jit(chip, system, w, m, sc, 37.0)
    assert float(at.metrics.throughput_tokens_per_s) == pytest.approx(float(grid.throughput_tokens_per_s[36]), rel=1e-6)
    # No batch meets an impossible bound: reported, not hidden.
    assert float(serving.server_jit(chip, system, w, m, sc, 1e-6).feasible) == 0.0


def _independent(entry: dict, row_value_metric: str):
    """Evaluate a mapping entry with the public API only (no codesign.validation code)."""
    req = {k: entry[k] for k in ("hardware", "model", "weight_dtype", "kv_dtype", "tp", "pp", "dp",
                                 "prompt_tokens", "output_tokens") if k in entry}
    req["batch"] = entry.get("concurrency", 1)
    if "system" in entry:
        req["system"] = entry["system"]
    return cd.build_design(req)


def test_validate_json_matches_independent_evaluations():
    p = run("validate", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    c = out["counts"]
    assert c["rows"] == c["expressed"] + c["inexpressible"] + c["skipped"] and c["skipped"] == 0
    assert all(x["reason"] for x in out["inexpressible"])
    mapping = yaml.safe_load(default_paths()[1].read_text())
    rows = {r["id"]: r for r in out["rows"]}
    checks = {"groq_l2_70b_claim_300": "decode_tokens_per_s_per_user",
              "mle_l31_70b_h100x4_b8_energy": "joules_per_token_chip",  # ML.ENERGY: GPU energy (NVML)
              "mle_l31_8b_h100_b512_tput": "throughput_tokens_per_s",
              "cerebras_l31_8b": "decode_tokens_per_s_per_user"}
    # Speculative-decoding releases are excluded with the reason (the model decodes one token per step).
    excluded = {x["id"]: x["reason"] for x in out["inexpressible"]}
    for rid in ("cerebras_l3x_70b_2100", "groq_l31_70b_specdec"):
        assert "speculative decoding" in excluded[rid] and rid not in rows
    for rid, metric in checks.items():
        d = _independent(mapping[rid], metric)
        r = cd.evaluate_jit(*d.specs)
        assert rows[rid]["predicted"] == pytest.approx(float(getattr(r, metric)), rel=1e-5), rid
        assert rows[rid]["error"] == pytest.approx(rows[rid]["predicted"] / rows[rid]["measured"] - 1, rel=1e-9)
        assert rows[rid]["metric"] == metric
    # Every ML.ENERGY energy row is compared at the chip boundary, the only energy rows expressed.
    energy = [r for r in out["rows"] if r["kind"] == "energy per token"]
    assert len(energy) == 9 and {r["boundary"] for r in energy} == {"chip"}
    assert all(r["id"].startswith("mle_") for r in energy)
    assert {r["boundary"] for r in out["rows"] if r["kind"] != "energy per token"} == {""}
    # Offline row: the batch validate used fits and one more does not; the value is evaluate's there.
    e = mapping["mlperf40_h100x8_off"]
    d = _independent(e, "throughput_tokens_per_s")
    chip, system, w, m, sc = d.specs
    b = rows["mlperf40_h100x8_off"]["batch"]
    at = cd.evaluate_jit(chip, system, w, cd.specs.replace(m, batch=b), sc)
    over = cd.evaluate_jit(chip, system, w, cd.specs.replace(m, batch=b + 1), sc)
    assert float(at.fits) == 1.0 and float(over.fits) == 0.0
    assert rows["mlperf40_h100x8_off"]["predicted"] == pytest.approx(float(at.throughput_tokens_per_s), rel=1e-5)
    # MLPerf v4.0 NVIDIA mappings are the submitted ones (closed/NVIDIA/configs/llama2-70b/Offline):
    # H100 TP2 x 4 replicas, H200 TP1 x 8. The issue's target is 25% for the uncalibrated H100
    # Offline row (39% low at the assumed TP8); the execution model gives +26% (ideal fp8 peak,
    # compute_efficiency 1.0 uncalibrated): a known miss, pinned here so it cannot grow unseen.
    assert (e["tp"], e["dp"]) == (2, 4) and (float(m.tp), float(m.dp)) == (2.0, 4.0)
    assert (mapping["mlperf40_h200ctsx8_off"]["tp"], mapping["mlperf40_h200ctsx8_off"]["dp"]) == (1, 8)
    assert 0.0 < rows["mlperf40_h100x8_off"]["error"] < 0.28
    # Summaries are the median / max of the rows' absolute errors.
    speed = [abs(r["error"]) for r in out["rows"] if r["kind"] == "per-user speed"]
    s = next(s for s in out["summary"]["by_metric"] if s["kind"] == "per-user speed")
    assert s["n"] == len(speed) and s["median_ape"] == pytest.approx(np.median(speed))
    assert s["max_ape"] == pytest.approx(max(speed))


def test_validate_cli_reports_bad_rows_and_bad_input(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(HEADER + GOOD + "broken,row\n" + 'unmapped,s,1,m,p,decode,1,joules_per_token,1,J/token,s,n\n')
    mapping = tmp_path / "map.yaml"
    why = {k: "r" for k in ("hardware", "model", "dtypes", "mapping", "tokens", "mode")}
    mapping.write_text(yaml.safe_dump({"ok_row": {
        "hardware": "h100-sxm", "model": "llama-3.1-70b", "weight_dtype": "bf16", "kv_dtype": "bf16", "tp": 4,
        "prompt_tokens": 200, "output_tokens": 350, "mode": "concurrency", "concurrency": 8, "why": why}}))
    plot = tmp_path / "parity.png"
    p = run("validate", "--data", str(csv), "--mapping", str(mapping), "--plot", str(plot))
    assert p.returncode == 0, p.stderr
    assert f"{csv}:3: broken:" in p.stderr.replace(str(tmp_path.resolve()), str(tmp_path))
    assert "m.csv:4: unmapped: no entry in" in p.stderr
    assert "1 expressed, 0 inexpressible, 2 skipped" in p.stdout
    assert_png(plot)
    p = run("validate", "--data", str(tmp_path / "missing.csv"))
    assert p.returncode == 2 and "missing.csv" in p.stderr and "Traceback" not in p.stderr


def test_energy_rows_are_predicted_at_their_boundary():
    """The entry's boundary key selects the Metrics field an energy row is compared with: chip
    (accelerators only), node (+ hosts) or facility (x PUE); none means node; any other name is
    refused naming the entry, the field and the allowed names; a boundary needs why.boundary."""
    from codesign.errors import ConfigError
    from codesign.validation import predict_cases
    from codesign.validation.report import results

    text = HEADER + 'e,"4x H100",4,Llama-3.1-70B,bf16,decode,8,joules_per_token,3.759,J/token,src,n\n'
    rows, _ = parse_measurements(text, "m.csv")
    why = {k: "r" for k in ("hardware", "model", "dtypes", "mapping", "tokens", "mode")}
    entry = {"hardware": "h100-sxm", "model": "llama-3.1-70b", "weight_dtype": "bf16", "kv_dtype": "bf16", "tp": 4,
             "prompt_tokens": 200, "output_tokens": 350, "mode": "concurrency", "concurrency": 8}
    r = cd.evaluate_jit(*_independent(entry, "joules_per_token").specs)
    expect = {"chip": float(r.joules_per_token_chip), "node": float(r.joules_per_token_node),
              "facility": float(r.joules_per_token_facility)}
    # 4 of 8 GPUs: half the DGX host (0.5 x 4,600 W) is between chip and node; PUE 1.58 above node.
    x = float(r.throughput_tokens_per_s)
    assert expect["node"] - expect["chip"] == pytest.approx(0.5 * 4600 / x, rel=1e-4)
    assert expect["facility"] == pytest.approx(1.58 * expect["node"], rel=1e-6)
    for given, boundary in (("chip", "chip"), ("node", "node"), ("facility", "facility"), (None, "node")):
        e = entry | ({"boundary": given, "why": why | {"boundary": "meter"}} if given else {"why": why})
        cases, _, issues = build_cases(rows, {"e": e}, "map.yaml", catalog=CATALOG)
        assert not issues and cases[0].boundary == boundary
        res = results(cases, predict_cases(cases))[0]
        assert (res.boundary, res.metric) == (boundary, f"joules_per_token_{boundary}")
        assert res.predicted == pytest.approx(expect[boundary], rel=1e-5)
    bad = entry | {"boundary": "rack", "why": why | {"boundary": "meter"}}
    with pytest.raises(ConfigError, match=r"map.yaml: entry 'e' \(m.csv:2\): boundary = 'rack'; "
                                          r"allowed: chip, node, facility"):
        build_cases(rows, {"e": bad}, "map.yaml", catalog=CATALOG)
    _, _, issues = build_cases(rows, {"e": entry | {"boundary": "chip", "why": why}}, "map.yaml", catalog=CATALOG)
    assert len(issues) == 1 and "why must give a reason for each of" in issues[0].message
    assert "boundary" in issues[0].message
