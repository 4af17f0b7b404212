"""The family rows (data/measurements_families.csv): AMD MI300X (MLPerf v4.1) and Google TPU v5e
(jetstream-pytorch) measurements, and listed single-node NVIDIA H200/B200 MLPerf v4.1/v5.0 rows. Each has a source and a mapping and loads as a case on a
preset of a family that had no data before; and every hardware family of the presets now has at
least one row the model evaluates, except the families listed with a reason."""
import csv

import pytest

from codesign.config.files import data_dir
from codesign.config.measurements import DEFAULT_MEASUREMENTS, load_dataset
from codesign.config.presets import hardware_names, load_hardware
from codesign.config.experiment import parse_yaml, read_bytes

FAMILIES_CSV = "measurements_families.csv"
#: Families this file adds data for (google-tpu had no row at all; amd-gpu had only MI325X).
NEW_FAMILIES = {"google-tpu", "amd-gpu"}
#: Rows of other families, listed: under-covered single-node H200/B200 MLPerf points.
LISTED = {rid: "nvidia-gpu" for rid in (
    "mlperf41_h200x8_l2_70b_off", "mlperf41_b200x1_l2_70b_off", "mlperf50g_h200x8_l2_70b_off",
    "mlperf50g_b200x8_l2_70b_off", "mlperf50g_b200x8_l2_70b_srv", "mlperf50g_b200x8_l2_70b_srv_tpot")}
#: Hardware families without a published measurement the model can evaluate, and why.
NO_DATA = {
    "groq-lp30": "Groq LP30 (2026, NVIDIA-owned Groq): no public measurement of a stated system yet",
}


@pytest.fixture(scope="module")
def family_rows() -> list[dict]:
    with open(data_dir() / FAMILIES_CSV, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


def test_family_file_is_read_by_default():
    assert FAMILIES_CSV in DEFAULT_MEASUREMENTS


def test_every_family_row_has_a_source_a_mapping_and_loads(family_rows, dataset):
    path = data_dir() / "measurements_mapping.yaml"
    mapping = parse_yaml(read_bytes(path, "mapping file"), str(path), "mapping file")
    cases = {c.row.id: c for c in dataset.cases}
    assert len(family_rows) >= 10
    for row in family_rows:
        rid = row["id"]
        assert row["source"].strip() and row["notes"].strip(), rid
        assert float(row["value"]) > 0, rid
        entry = mapping.get(rid)
        assert isinstance(entry, dict) and "inexpressible" not in entry, rid
        assert entry["why"]["mapping"] and entry["why"]["tokens"], rid
        case = cases[rid]  # loaded and expressed, not skipped
        family = case.design.hardware.family
        assert family in NEW_FAMILIES or LISTED.get(rid) == family, (rid, family)
        assert int(row["chips"]) == case.design.mapping.chips, rid
    assert not [i for i in dataset.issues if i.id in {r["id"] for r in family_rows}]


def test_mapping_follows_the_submissions(dataset):
    """The mappings as published: AMD's v4.1 scripts run TP=1 DP=8 (one replica per GPU), with
    fp8 weights and fp8 KV; jetstream-pytorch shards the model over the 8 chips of a v5e-8."""
    cases = {c.row.id: c for c in dataset.cases}
    m = cases["mlperf41_mi300x8_l2_70b_off"].design
    assert (m.mapping.tp, m.mapping.pp, m.mapping.dp) == (1, 1, 8)
    assert (m.workload.weight_dtype, m.workload.kv_dtype) == ("fp8", "fp8")
    assert cases["mlperf41_mi300x8_l2_70b_srv"].tpot_bound_s == pytest.approx(0.2)
    t = cases["jsp_l2_13b_v5e8_bf16_b48"]
    assert (t.design.mapping.tp, t.design.mapping.dp, t.design.hardware.name) == (8, 1, "tpu-v5e")
    assert t.mode == "concurrency" and t.design.mapping.batch == 48


def test_every_hardware_family_has_a_validation_row(dataset):
    families = {load_hardware(n).family for n in hardware_names()}
    covered = {c.design.hardware.family for c in dataset.cases}
    assert set(NO_DATA) <= families  # the exceptions name real families
    assert families - covered == set(NO_DATA)  # an exception that gains data must leave the list
