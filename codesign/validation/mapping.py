"""Map measurement rows to model evaluations (cases), from a mapping keyed by row id.

Each entry of the mapping (``codesign/data/measurements_mapping.yaml``, loaded by the caller) either
says why the row cannot be expressed::

    some_row_id:
      inexpressible: "generic claim: no model, no system"

or gives the evaluation and the reason for every assumption::

    some_row_id:
      hardware: h100-sxm            # preset
      model: llama-3.1-70b          # preset
      weight_dtype: bf16
      kv_dtype: bf16
      tp: 4                         # and/or pp, dp, chips
      prompt_tokens: 200
      output_tokens: 350
      mode: concurrency             # concurrency (+ concurrency: N), offline, or server (+ tpot_bound_s)
      concurrency: 8
      tpot: step                    # time per output token: step (median ITL) or with_prefill (mean TPOT)
      boundary: chip                # energy rows: what the meter drew (chip | node | facility; default node)
      system: {host_power_w: 0}     # optional: system fields differing from the preset (SYSTEM_OVERRIDES)
      chip: {power_cap_w: 500}      # optional: chip fields set per submission (CHIP_OVERRIDES), e.g. a MaxQ power limit
      why: {hardware: ..., model: ..., dtypes: ..., mapping: ..., tokens: ..., mode: ..., boundary: ..., system: ...}
      caveat: "..."                 # optional: a known gap between the model and the measurement

Top-level keys starting with ``_`` are templates for YAML anchors (``<<: *name``), not rows.
An energy row is compared with the model at its ``boundary`` (:data:`BOUNDARIES`: chip =
accelerators only, e.g. NVML; node = IT power with the hosts; facility = node x PUE), i.e. with
``Metrics.joules_per_token_<boundary>``; an entry that gives one also gives ``why.boundary``.

Rows without an entry, entries without a row, and entries that do not build a valid design are
reported as issues and skipped; an entry naming an unknown preset or an unknown boundary is an
error (a typo).
"""
import dataclasses
import math

from ..design import Catalog, Design, build_design
from ..errors import ConfigError, UnknownPresetError
from ..model.energy import BOUNDARIES
from .dataset import Issue, Row

#: CSV metric -> (Metrics field predicted, metric class, accepted units).
METRICS = {
    "decode_tokens_per_s_per_user": ("decode_tokens_per_s_per_user", "per-user speed", ("tok/s",)),
    "throughput_tokens_per_s": ("throughput_tokens_per_s", "throughput", ("tok/s",)),
    "joules_per_token": ("joules_per_token", "energy per token", ("J/token",)),
    "chips_needed_min": ("min_chips_weights", "chips", ("chips",)),
    "cost_usd_hardware": ("capex_usd", "hardware cost", ("USD",)),
}
#: Metric classes that calibration fits (the others no free parameter can change).
FITTED_KINDS = ("per-user speed", "throughput", "energy per token")
MODES = ("concurrency", "offline", "server")
#: System fields a mapping may override: where the measurement's boundary differs from the
#: preset's (e.g. GPU-only energy meters exclude the host).
SYSTEM_OVERRIDES = ("host_power_w", "node_cost_usd")
#: Chip fields a mapping may override: what a submission configured on the same silicon
#: (a board power limit: MaxQ / nvidia-smi -pl, or a higher-TGP variant such as H200 CTS).
CHIP_OVERRIDES = ("power_cap_w",)
_EVAL_KEYS = ("hardware", "model", "weight_dtype", "kv_dtype", "tp", "pp", "dp", "chips",
              "prompt_tokens", "output_tokens")
_KEYS = _EVAL_KEYS + ("mode", "concurrency", "tpot_bound_s", "tpot", "boundary", "system", "chip", "why", "caveat")
#: Boundary of an energy row whose entry names none: the model's default figure (joules_per_token).
DEFAULT_BOUNDARY = "node"
#: Readings of the time per output token (see codesign.model.serving): one decode step (a
#: median inter-token latency) or batch / throughput (a mean TPOT, prefill stalls included).
#: It sets the per-user speed predicted and, in server mode, what the bound applies to.
TPOTS = {"step": "decode_tokens_per_s_per_user", "with_prefill": "tokens_per_s_per_user"}
_WHY = ("hardware", "model", "dtypes", "mapping", "tokens", "mode")


@dataclasses.dataclass(frozen=True)
class Case:
    """A row the model can express: its design, operating mode and the metric predicted."""

    row: Row
    design: Design
    metric: str  # Metrics field
    kind: str  # metric class
    mode: str  # concurrency | offline | server
    tpot_bound_s: float  # server mode only (nan otherwise)
    with_prefill: bool  # the TPOT (speed, server bound) includes prefill stalls
    why: dict
    caveat: str
    boundary: str = ""  # energy rows: chip | node | facility (BOUNDARIES); "" for other metrics

    @property
    def hardware(self) -> str:
        return self.design.hardware.name

    @property
    def family(self) -> str:
        """Calibration family of the hardware (cases of one family share fitted values)."""
        return self.design.hardware.family


@dataclasses.dataclass(frozen=True)
class Inexpressible:
    row: Row
    reason: str


def build_cases(rows: list[Row], mapping: dict, mapping_file: str = "mapping", calibrated: bool = False,
                catalog: Catalog | None = None) -> tuple[list[Case], list[Inexpressible], list[Issue]]:
    """Cases, inexpressible rows (with reasons) and issues, in row order.

    Args:
        rows: parsed measurement rows.
        mapping: row id -> entry (the mapping file's contents).
        mapping_file: how issues name the mapping.
        calibrated: evaluate with the fitted values of each hardware's family.
        catalog: looks up the preset names of the entries (``codesign.config.CATALOG``).
    """
    if not isinstance(mapping, dict):
        return [], [], [Issue(mapping_file, 0, "", "expected a mapping of row id -> entry")]
    cases, inexpressible, issues = [], [], []
    ids = {r.id for r in rows}
    orphans = [str(k) for k in mapping if k not in ids and not str(k).startswith("_")]
    if orphans:  # a typo in an id, or a subset of the data files: one issue, not one per entry
        issues.append(Issue(mapping_file, 0, "", f"{len(orphans)} entries have no measurement row in the "
                                                 f"files read: {', '.join(orphans[:8])}{' ...' if len(orphans) > 8 else ''}"))
    for row in rows:
        entry = mapping.get(row.id)
        if entry is None:
            issues.append(Issue(row.file, row.line, row.id, f"no entry in {mapping_file}; skipped"))
            continue
        check_boundary(entry, f"{mapping_file}: entry {row.id!r} ({row.where})")
        try:
            result = _case(row, entry, calibrated, catalog)
        except UnknownPresetError as e:
            raise UnknownPresetError(f"{mapping_file}: entry {row.id!r}: {e}") from None
        except ConfigError as e:
            issues.append(Issue(row.file, row.line, row.id, f"{mapping_file}: {e}; skipped"))
            continue
        (cases if isinstance(result, Case) else inexpressible).append(result)
    return cases, inexpressible, issues


def _case(row: Row, entry, calibrated: bool, catalog: Catalog | None):
    if not isinstance(entry, dict):
        raise ConfigError(f"entry must be a mapping, got {entry!r}")
    if "inexpressible" in entry:
        reason = entry["inexpressible"]
        if set(entry) != {"inexpressible"} or not isinstance(reason, str) or not reason.strip():
            raise ConfigError("an inexpressible entry has exactly one key, inexpressible: \"reason\"")
        return Inexpressible(row, reason.strip())
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}; allowed: inexpressible, {', '.join(_KEYS)}")
    if row.metric not in METRICS:
        raise ConfigError(f"metric {row.metric!r} cannot be predicted; predictable: {', '.join(METRICS)}")
    metric, kind, units = METRICS[row.metric]
    tpot = entry.get("tpot", "step")
    if tpot not in TPOTS:
        raise ConfigError(f"tpot = {tpot!r}; allowed: {', '.join(TPOTS)}")
    if kind == "per-user speed":
        metric = TPOTS[tpot]
    if row.unit not in units:
        raise ConfigError(f"unit {row.unit!r} for {row.metric}; allowed: {', '.join(units)}")
    mode = entry.get("mode")
    if mode not in MODES:
        raise ConfigError(f"mode = {mode!r}; allowed: {', '.join(MODES)}")
    why = entry.get("why")
    need = _WHY + tuple(k for k in ("boundary", "system", "chip") if k in entry)
    if not isinstance(why, dict) or any(not str(why.get(k, "")).strip() for k in need):
        raise ConfigError(f"why must give a reason for each of: {', '.join(need)}")
    request = {k: entry[k] for k in _EVAL_KEYS if k in entry}
    request["calibrated"] = calibrated
    request["batch"] = _mode_batch(mode, entry)
    bound = _bound(mode, entry)
    if "system" in entry:
        overrides = entry["system"]
        if not isinstance(overrides, dict) or set(overrides) - set(SYSTEM_OVERRIDES):
            raise ConfigError(f"system overrides allowed: {', '.join(SYSTEM_OVERRIDES)}; got {overrides!r}")
        request["system"] = overrides
    if "chip" in entry:
        overrides = entry["chip"]
        if not isinstance(overrides, dict) or not overrides or set(overrides) - set(CHIP_OVERRIDES):
            raise ConfigError(f"chip overrides allowed: {', '.join(CHIP_OVERRIDES)}; got {overrides!r}")
        request["chip"] = overrides
    design = build_design(request, catalog)
    if kind != "chips":  # for a chip-count row the stated number is the prediction, not an input
        _check_chips(row, design)
    boundary = entry.get("boundary", DEFAULT_BOUNDARY) if kind == "energy per token" else ""
    return Case(row=row, design=design, metric=metric, kind=kind, mode=mode, tpot_bound_s=bound,
                with_prefill=tpot == "with_prefill", why=dict(why), caveat=str(entry.get("caveat", "")),
                boundary=boundary)


def check_boundary(entry, where: str) -> None:
    """Refuse an entry whose ``boundary`` is not one of :data:`BOUNDARIES` (ConfigError naming
    ``where``, the field, the value and the allowed names)."""
    if isinstance(entry, dict) and "boundary" in entry and entry["boundary"] not in BOUNDARIES:
        raise ConfigError(f"{where}: boundary = {entry['boundary']!r}; allowed: {', '.join(BOUNDARIES)} "
                          "(chip: accelerators only, node: with the hosts, facility: node x PUE)")


def _mode_batch(mode, entry) -> int:
    if mode == "concurrency":
        c = entry.get("concurrency")
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            raise ConfigError(f"concurrency = {c!r}; allowed: a positive integer (mode concurrency)")
        return c
    if "concurrency" in entry:
        raise ConfigError(f"concurrency is only for mode concurrency (mode is {mode})")
    return 1  # the design is checked at batch 1; the serving search picks the batch


def _bound(mode, entry) -> float:
    if mode != "server":
        if "tpot_bound_s" in entry:
            raise ConfigError("tpot_bound_s is only for mode server")
        return float("nan")
    b = entry.get("tpot_bound_s")
    if isinstance(b, bool) or not isinstance(b, (int, float)) or not b > 0 or not math.isfinite(b):
        raise ConfigError(f"tpot_bound_s = {b!r}; allowed: a positive number of seconds (mode server)")
    return float(b)


def _check_chips(row: Row, design: Design):
    """A row's chip count (when it states a plain integer) must match the design's."""
    try:
        stated = int(row.chips)
    except ValueError:
        return
    chips = int(round(float(design.mapping.chips)))
    if stated != chips:
        raise ConfigError(f"row states {stated} chips but the mapping gives tp x pp x dp = {chips}")
