"""Pure design construction over values, preset catalogs, calibration families and the
pure application of a fitted document."""
import dataclasses

import pytest
import yaml

import codesign as cd
from codesign.calibration import apply_calibration
from codesign.config import CATALOG, fitted_path, load_calibrated, load_fitted, load_problem
from codesign.design import Catalog, build_design
from codesign.objectives import parse_problem

REQUEST = {"model": "llama-2-70b", "weight_dtype": "int8", "chips": 576}
SPACE = {"space": {"chip.sram_bytes": {"min": 1e8, "max": 1e9}, "mapping.batch": {"min": 1, "max": 64,
                                                                                   "integer": True}},
         "objective": "usd_per_million_tokens", "tp": 8, "pp": 72}


def test_values_build_the_same_design_as_names():
    hw, md = cd.load_hardware("groq-lpu-v1"), cd.load_model("llama-2-70b")
    by_value = build_design({**REQUEST, "hardware": hw, "model": md})
    by_name = cd.build_design({**REQUEST, "hardware": "groq-lpu-v1"})
    assert by_value.specs == by_name.specs and by_value.chosen == by_name.chosen
    assert (float(by_value.mapping.tp), float(by_value.mapping.pp)) == (8.0, 72.0)


def test_names_need_a_catalog_and_calibration_needs_a_name():
    with pytest.raises(cd.ConfigError, match="hardware = 'groq-lpu-v1' is a preset name but no preset catalog"):
        build_design({**REQUEST, "hardware": "groq-lpu-v1"})
    hw = cd.load_hardware("groq-lpu-v1")
    with pytest.raises(cd.ConfigError, match="model = 'llama-2-70b' is a preset name"):
        build_design({**REQUEST, "hardware": hw})
    with pytest.raises(cd.ConfigError, match="calibrated = true with a Hardware value"):
        build_design({**REQUEST, "hardware": hw, "calibrated": True}, CATALOG)
    with pytest.raises(cd.ConfigError, match="unknown hardware preset 'nope'; valid: b200, "):
        cd.build_design({**REQUEST, "hardware": "nope"})


def test_a_catalog_of_values_serves_a_problem_without_files():
    """A notebook's own chip: a Catalog over in-memory values, no file read."""
    base = cd.load_hardware("groq-lpu-v1")
    mine = dataclasses.replace(base, name="my-lpu", chip=cd.specs.replace(base.chip, sram_bytes=460e6))
    catalog = Catalog(hardware=lambda name, calibrated: {"my-lpu": mine}[name],
                      model=lambda name: cd.load_model(name))
    problem = parse_problem({**REQUEST, "hardware": "my-lpu", **SPACE, "chips": None}, catalog=catalog)
    chip = problem.space.variants[0].specs[0]
    assert chip.name == "groq-lpu-v1" and float(chip.sram_bytes) == 460e6
    # The same config over the packaged presets keeps the preset's SRAM in the base specs.
    packaged = load_problem({**REQUEST, "hardware": "groq-lpu-v1", **SPACE, "chips": None})
    assert float(packaged.space.variants[0].specs[0].sram_bytes) == float(base.chip.sram_bytes)
    with pytest.raises(cd.ConfigError, match="no preset catalog"):
        parse_problem({**REQUEST, "hardware": "groq-lpu-v1", **SPACE, "chips": None})


def test_every_preset_has_a_family_and_the_fit_uses_those_families():
    families = {h: cd.load_hardware(h).family for h in cd.hardware_names()}
    assert families["groq-lpu-v1"] == "groq" and families["h100-sxm"] == families["b200"] == "nvidia-gpu"
    assert families["tpu-v5p"] == "google-tpu" and families["mi300x"] == "amd-gpu"
    fitted = load_fitted()
    for family, entry in fitted["families"].items():
        assert entry["hardware"] and all(families[h] == family for h in entry["hardware"]), family


def test_applying_a_fitted_document_is_pure_and_matches_the_file():
    hw = cd.load_hardware("h100-sxm")
    doc = yaml.safe_load(fitted_path().read_text())
    applied = apply_calibration(hw, doc, "doc")
    assert applied == load_calibrated(hw) == cd.load_hardware("h100-sxm", calibrated=True)
    values = {k: v["value"] for k, v in doc["families"]["nvidia-gpu"]["values"].items()}
    assert float(applied.chip.compute_efficiency) == pytest.approx(values["compute_efficiency"])
    assert float(applied.chip.op_floor_s) == pytest.approx(values["op_latency"] * float(hw.chip.op_floor_s))
    # Another family's values never apply: the lookup is by hw.family, then by the hardware fitted.
    moved = dataclasses.replace(hw, family="groq")
    with pytest.raises(cd.ConfigError, match="no fitted values for hardware 'h100-sxm' \\(family groq\\) in doc"):
        apply_calibration(moved, doc, "doc")
    with pytest.raises(cd.ConfigError, match="doc: expected label: fitted"):
        apply_calibration(hw, {"families": {}}, "doc")
