"""Hardware and model presets: packaged YAML files with a source for every number.

``presets/hardware/NAME.yaml`` holds a ``family``, a ``chip`` and a ``system``;
``presets/models/NAME.yaml`` a decoder-only transformer (see :mod:`codesign.config.files` for
where ``presets/`` is).
"""
import dataclasses
import functools
from pathlib import Path

from ..design import Hardware, Model
from ..design.entries import check_choice, check_keys, parse_number, source_of
from ..design.fields import field_range
from ..errors import ConfigError, UnknownPresetError
from ..model.cost import build_cost_usd
from ..specs import EXECUTIONS, MEMORY_KINDS, PP_SPLITS, PRICE_MODES, TOPOLOGIES, Chip, System, Workload
from ..specs import DTYPES, numeric_fields
from ..specs.workload import ATTENTION_KINDS
from .calibrated import load_calibrated
from .experiment import read_yaml
from .files import presets_dir

_CHIP_STATIC = {"memory_kind": MEMORY_KINDS, "pp_split": PP_SPLITS, "price_mode": PRICE_MODES,
                "execution": EXECUTIONS}
_SYSTEM_STATIC = {"intra_topology": TOPOLOGIES}
_DERIVED = ("reference_build_cost_usd", "reference_clock_hz")
_MODEL_NUMERIC = numeric_fields(Workload)
#: Workload leaves with a default (the 2025 architecture fields): optional in a model file.
_MODEL_OPTIONAL = tuple(f.name for f in dataclasses.fields(Workload)
                        if not f.metadata.get("static") and f.default is not dataclasses.MISSING)
_MODEL_REQUIRED = tuple(k for k in _MODEL_NUMERIC if k not in _MODEL_OPTIONAL)
_MODEL_EXTRA = ("published_params", "context_tokens")
_MODEL_FLAGS = ("gated_ffn", "tied_embeddings", "active_counts_embedding")
_MODEL_CHOICES = {"attention": ATTENTION_KINDS, "weight_dtype": DTYPES, "expert_dtype": DTYPES}
_GROUPING = ("vendor", "generation", "year")  # optional keys of a hardware file (codesign presets groups by them)


def configs_dir() -> Path:
    """Alias of :func:`codesign.config.files.presets_dir` (``hardware/``, ``models/``, ``calibration/``)."""
    return presets_dir()


def _names(kind: str) -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in (presets_dir() / kind).glob("*.yaml")))


def hardware_names() -> tuple[str, ...]:
    """Names of the hardware presets shipped in the package (``codesign/presets/hardware``), sorted."""
    return _names("hardware")


def model_names() -> tuple[str, ...]:
    """Names of the model presets shipped in the package (``codesign/presets/models``), sorted."""
    return _names("models")


def _read(kind: str, name: str) -> dict:
    path = presets_dir() / kind / f"{name}.yaml"
    if not path.is_file():
        label = "hardware" if kind == "hardware" else "model"
        raise UnknownPresetError(f"unknown {label} preset {name!r}; valid: {', '.join(_names(kind))}")
    return read_yaml(path, f"{kind[:-1] if kind == 'models' else kind} preset file")


def _parse_block(where, block, cls, static_choices, derived=()):
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a mapping")
    numeric = [f for f in numeric_fields(cls) if f not in derived]
    check_keys(where, block, list(numeric) + list(static_choices))
    values, sources = {}, {}
    for key in numeric:
        values[key] = parse_number(where, key, block[key], allowed=field_range(cls, key))
        sources[key] = source_of(block[key])
    for key, allowed in static_choices.items():
        values[key] = check_choice(where, key, block[key], allowed)
    return values, sources


def _grouping(where: str, data: dict) -> dict:
    """``vendor`` and ``generation`` (non-empty text) and ``year`` (an integer year) of a
    hardware file, each optional; what ``codesign presets`` groups by."""
    out = {}
    for key in ("vendor", "generation"):
        if key in data:
            value = data[key]
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: {key} = {value!r}; allowed: a non-empty name (e.g. NVIDIA, Blackwell Ultra)")
            out[key] = value.strip()
    if "year" in data:
        year = data["year"]
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
            raise ConfigError(f"{where}: year = {year!r}; allowed: the year the generation shipped, an integer 1990..2100")
        out["year"] = float(year)
    return out


def load_hardware(name: str, calibrated: bool = False) -> Hardware:
    """Load ``presets/hardware/NAME.yaml``; the reference build cost is derived here.

    Presets are uncalibrated (stated physical constants). ``calibrated=True`` applies the
    fitted values of ``presets/calibration/fitted.yaml`` (labelled as fitted in ``sources``).
    """
    hw = _load_hardware(name)
    return load_calibrated(hw) if calibrated else hw


@functools.lru_cache(maxsize=None)
def _load_hardware(name: str) -> Hardware:
    data = _read("hardware", name)
    where = f"hardware preset {name!r}"
    check_keys(where, data, ["name", "family", "chip", "system"], ["summary", *_GROUPING])
    if not isinstance(data["family"], str) or not data["family"].strip():
        raise ConfigError(f"{where}: family = {data['family']!r}; allowed: a calibration family name (e.g. nvidia-gpu)")
    grouping = _grouping(where, data)
    chip_v, chip_s = _parse_block(f"{where} chip", data["chip"], Chip, _CHIP_STATIC, _DERIVED)
    sys_v, sys_s = _parse_block(f"{where} system", data["system"], System, _SYSTEM_STATIC)
    chip = Chip(**chip_v, reference_build_cost_usd=1.0, reference_clock_hz=chip_v["clock_hz"], name=name)
    chip = dataclasses.replace(chip, reference_build_cost_usd=float(build_cost_usd(chip)))
    system = System(**sys_v, name=name)
    sources = {f"chip.{k}": v for k, v in chip_s.items()}
    sources |= {f"system.{k}": v for k, v in sys_s.items()}
    sources["chip.reference_build_cost_usd"] = "[D] build cost of this preset (codesign.model.cost)"
    sources["chip.reference_clock_hz"] = "[D] clock_hz of this preset: its peaks and energies are quoted there"
    return Hardware(name, str(data.get("summary", "")), chip, system, sources, data["family"].strip(), **grouping)


@functools.lru_cache(maxsize=None)
def load_model(name: str) -> Model:
    """Load ``presets/models/NAME.yaml``.

    Required: the plain decoder's dimensions, ``published_params`` and ``context_tokens``;
    optional: the 2025 architecture fields of :class:`codesign.specs.Workload` (MLA, shared
    experts, dense layers, sliding windows, MTP), ``attention`` (gqa, mla), the shipped
    ``weight_dtype`` / ``expert_dtype`` and ``published_active_params`` (each number with its
    source)."""
    data = _read("models", name)
    where = f"model preset {name!r}"
    check_keys(where, data, ["name", *_MODEL_REQUIRED, *_MODEL_EXTRA],
               ["summary", *_MODEL_FLAGS, *_MODEL_OPTIONAL, *_MODEL_CHOICES, "published_active_params"])
    given = [k for k in _MODEL_NUMERIC if k in data]
    dims = {k: parse_number(where, k, data[k]) for k in given}
    numbers = (*given, *_MODEL_EXTRA, *(["published_active_params"] if "published_active_params" in data else []))
    sources = {k: source_of(data[k]) for k in numbers}
    for k in _MODEL_FLAGS:
        if not isinstance(data.get(k, False), bool):
            raise ConfigError(f"{where}: {k} = {data[k]!r}; allowed: true, false")
    choices = {k: check_choice(where, k, data[k], allowed) for k, allowed in _MODEL_CHOICES.items() if k in data}
    _check_architecture(where, dims, choices.get("attention", "gqa"))
    active = parse_number(where, "published_active_params", data["published_active_params"]) \
        if "published_active_params" in data else 0.0
    return Model(name, str(data.get("summary", "")), dims, bool(data.get("gated_ffn", True)),
                 bool(data.get("tied_embeddings", False)),
                 parse_number(where, "published_params", data["published_params"]),
                 parse_number(where, "context_tokens", data["context_tokens"]), sources,
                 attention=choices.get("attention", "gqa"), weight_dtype=choices.get("weight_dtype", ""),
                 expert_dtype=choices.get("expert_dtype", ""), published_active_params=active,
                 active_counts_embedding=bool(data.get("active_counts_embedding", False)))


def _check_architecture(where: str, dims: dict, attention: str):
    """Fields that only make sense together: MLA dimensions, layer counts, probabilities."""
    layers = dims["layers"]
    if attention == "mla":
        for k in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
            if dims.get(k, 0.0) <= 0:
                raise ConfigError(f"{where}: attention = 'mla' needs {k} > 0, got {dims.get(k, 0.0):g}")
    for k in ("dense_layers", "sliding_layers"):
        if dims.get(k, 0.0) > layers:
            raise ConfigError(f"{where}: {k} = {dims[k]:g}; allowed: 0..{layers:g} (the layers)")
    if dims.get("sliding_layers", 0.0) > 0 and dims.get("sliding_window", 0.0) <= 0:
        raise ConfigError(f"{where}: sliding_layers = {dims['sliding_layers']:g} needs sliding_window > 0 tokens")
    if dims.get("mtp_acceptance", 0.0) > 1:
        raise ConfigError(f"{where}: mtp_acceptance = {dims['mtp_acceptance']:g}; allowed: a probability in [0, 1]")
