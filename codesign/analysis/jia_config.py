"""Validate the experiment config of :mod:`codesign.analysis.jia` (a dict loaded from YAML)
and build its inputs. Every number is ``[value, "source"]``; errors name the key, the bad
value and what is allowed (:class:`~codesign.errors.ConfigError`).

Layout (see ``configs/experiments/jia_groq_vs_h100.yaml``)::

    model: NAME
    published: {groq_hardware, gpu_hardware, weight_dtype, params, chip_memory_bytes, chips,
                chip_price_usd, chip_power_w, gpu_server_chips, gpu_server_price_usd,
                gpu_server_power_w, usd_per_kwh, pue, lifetime_years,
                claimed: {min_chips, capex_ratio, energy_ratio, groq_energy_usd, gpu_energy_usd}}
    computed:  {prompt_tokens, output_tokens,
                deployments: {KEY: {label, hardware, weight_dtype, kv_dtype, tp, pp, batch}},
                comparisons: [{label, groq: KEY, gpu: KEY}, ...]}

``batch`` is ``max``, ``[N, "source"]`` or ``{min_tokens_per_s_per_user: [V, "source"]}``.
"""
import dataclasses

from ..design import Catalog, Hardware, build_design, hardware_of, model_of
from ..design.entries import check_keys, parse_number, source_of
from ..errors import ConfigError
from ..specs import DTYPES, Scenario, Workload
from .batching import BatchRule
from .jia import Deployment, PublishedInputs

_PUBLISHED_NUMBERS = ("params", "chip_memory_bytes", "chips", "chip_price_usd", "chip_power_w",
                      "gpu_server_chips", "gpu_server_price_usd", "gpu_server_power_w",
                      "usd_per_kwh", "pue", "lifetime_years")
_CLAIMED = ("min_chips", "capex_ratio", "energy_ratio", "groq_energy_usd", "gpu_energy_usd")
_DEPLOYMENT_KEYS = ("label", "hardware", "weight_dtype", "kv_dtype", "tp", "pp", "batch")


@dataclasses.dataclass(frozen=True)
class JiaConfig:
    """Everything :func:`codesign.analysis.jia.published` and ``computed`` need."""

    model: str
    published: PublishedInputs
    groq: Hardware  # presets whose chip/system the published arithmetic runs through
    gpu: Hardware
    workload: Workload  # the model at the published weight dtype
    scenario: Scenario
    deployments: dict  # key -> Deployment
    comparisons: tuple  # (label, groq key, gpu key)
    sources: dict  # "published.params" etc. -> source text


def _block(where, data, required):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with keys {', '.join(required)}")
    check_keys(where, data, required)
    return data


def _positive(where, key, entry, integer=False):
    x = parse_number(where, key, entry)
    if x <= 0 or (integer and x != int(x)):
        kind = "a positive integer" if integer else "a number > 0"
        raise ConfigError(f"{where}: {key} = {x:g}; allowed: {kind}")
    return x


def _name(where, key, value):
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} = {value!r}; allowed: a preset or format name")
    return value


def _batch_rule(where, entry) -> BatchRule:
    if entry == "max":
        return BatchRule("max")
    if isinstance(entry, dict):
        check_keys(f"{where}.batch", entry, ["min_tokens_per_s_per_user"])
        v = _positive(f"{where}.batch", "min_tokens_per_s_per_user", entry["min_tokens_per_s_per_user"])
        return BatchRule("min_speed", v)
    if isinstance(entry, list):
        return BatchRule("fixed", _positive(where, "batch", entry, integer=True))
    raise ConfigError(f"{where}: batch = {entry!r}; allowed: max, [N, \"source\"] or "
                      "{min_tokens_per_s_per_user: [V, \"source\"]}")


def _deployment(where, d, model, scenario: dict, catalog: Catalog | None) -> Deployment:
    d = _block(where, d, _DEPLOYMENT_KEYS)
    tp = int(_positive(where, "tp", d["tp"], integer=True))
    pp = int(_positive(where, "pp", d["pp"], integer=True))
    try:  # the CLI's validation: preset names, dtypes the chip supports, tp | heads, pp <= layers
        design = build_design({"hardware": _name(where, "hardware", d["hardware"]), "model": model,
                               "weight_dtype": d["weight_dtype"], "kv_dtype": d["kv_dtype"],
                               "tp": tp, "pp": pp, "batch": 1, **scenario}, catalog)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    return Deployment(str(d["label"]), design.chip, design.system, design.workload, float(tp),
                      float(pp), _batch_rule(where, d["batch"]))


def parse_config(data: dict, catalog: Catalog | None = None) -> JiaConfig:
    """Validate ``data`` (the YAML file's contents) and look up the presets it names in
    ``catalog`` (``codesign.config.load_jia_config`` passes the packaged presets)."""
    top = _block("config", data, ["model", "published", "computed"])
    model = _name("config", "model", top["model"])
    md = model_of(model, catalog)
    pub = _block("published", top["published"],
                 ["groq_hardware", "gpu_hardware", "weight_dtype", *_PUBLISHED_NUMBERS, "claimed"])
    claimed = _block("published.claimed", pub["claimed"], _CLAIMED)
    if pub["weight_dtype"] not in DTYPES:
        raise ConfigError(f"published: weight_dtype = {pub['weight_dtype']!r}; allowed: {', '.join(DTYPES)}")
    sources = {f"published.{k}": source_of(pub[k]) for k in _PUBLISHED_NUMBERS}
    sources |= {f"published.claimed.{k}": source_of(claimed[k]) for k in _CLAIMED}
    inputs = PublishedInputs(
        weight_dtype=pub["weight_dtype"],
        claimed={k: _positive("published.claimed", k, claimed[k]) for k in _CLAIMED},
        **{k: _positive("published", k, pub[k]) for k in _PUBLISHED_NUMBERS})

    comp = _block("computed", top["computed"], ["prompt_tokens", "output_tokens", "deployments", "comparisons"])
    scen = {k: int(_positive("computed", k, comp[k], integer=True)) for k in ("prompt_tokens", "output_tokens")}
    sources |= {f"computed.{k}": source_of(comp[k]) for k in scen}
    deps = comp["deployments"]
    if not isinstance(deps, dict) or not deps:
        raise ConfigError("computed.deployments: expected a mapping of KEY: {label, hardware, ...}")
    deployments = {str(k): _deployment(f"computed.deployments.{k}", v, md, scen, catalog) for k, v in deps.items()}
    comps = comp["comparisons"]
    if not isinstance(comps, list) or not comps:
        raise ConfigError("computed.comparisons: expected a list of {label, groq: KEY, gpu: KEY}")
    comparisons = []
    for i, c in enumerate(comps):
        c = _block(f"computed.comparisons[{i}]", c, ["label", "groq", "gpu"])
        for side in ("groq", "gpu"):
            if c[side] not in deployments:
                raise ConfigError(f"computed.comparisons[{i}].{side} = {c[side]!r}; allowed: "
                                  f"{', '.join(deployments)}")
        comparisons.append((str(c["label"]), c["groq"], c["gpu"]))
    return JiaConfig(
        model=model, published=inputs,
        groq=hardware_of(_name("published", "groq_hardware", pub["groq_hardware"]), catalog, key="groq_hardware"),
        gpu=hardware_of(_name("published", "gpu_hardware", pub["gpu_hardware"]), catalog, key="gpu_hardware"),
        workload=md.workload(pub["weight_dtype"]),
        scenario=Scenario(float(scen["prompt_tokens"]), float(scen["output_tokens"])),
        deployments=deployments, comparisons=tuple(comparisons), sources=sources)
