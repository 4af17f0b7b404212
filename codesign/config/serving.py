"""A ``codesign serve`` config (edge I/O): design(s), arrivals, lengths, policy, SLO, fleet.

.. code-block:: yaml

    design: {hardware: h100-sxm, model: llama-2-70b, weight_dtype: fp8, kv_dtype: fp8, tp: 2, dp: 4}
    # or, disaggregated:  pools: {prefill: {...design...}, decode: {...design...}}
    #                     link: {bw_bytes_per_s: 50.0e+9, latency_s: 5.0e-6}
    arrivals: {kind: poisson, rate_per_s: 60}      # gamma: + cv;  or {trace: path.csv[, rate_per_s]}
    lengths: {prompt: {kind: fixed, mean: 512}, output: {kind: lognormal, mean: 290, cv: 0.5}}
    n_requests: 2000          # requests simulated; or duration_s: 120 (every arrival of 120 s,
                              # sized from the rate), as MLPerf's min_duration
    seed: 0
    policy: {kind: chunked, max_slots: 256, token_budget: 2048, page_tokens: 16, preempt: recompute}  # or none
    slo: {mlperf: llama2-70b-server}                # or {ttft_s: 2.0, tpot_s: 0.2, percentile: 99}
    replicas: 4                                     # default: the design's dp
    router: round_robin                             # or least_outstanding

Every number may be written bare or as ``[value, "source"]``. A trace is a CSV file with a
header naming ``arrival_s, prompt_tokens, output_tokens`` (other columns are ignored), read
relative to the config file; its rows are sorted by arrival. Bad input is one
:class:`~codesign.errors.ConfigError` naming the field (or the trace line), the bad value
and what is allowed.
"""
import csv
import dataclasses
import math
import os

import numpy as np

from ..design import Design
from ..design.entries import check_choice, check_keys, parse_number
from ..design.fields import COUNT, POSITIVE, SEED, Range, integer
from ..errors import ConfigError
from .catalog import build_design
from .experiment import load_experiment
from .experiment import read_bytes

#: MLPerf Inference LLM Server-scenario constraints: (TTFT s, TPOT s, percentile).
#: Source: mlcommons/inference loadgen/mlperf.conf (``*.Server.target_latency_percentile = 99``;
#: ``llama2-70b.Server.ttft_latency = 2000``, ``tpot_latency = 200``; ``llama2-70b-interactive``
#: 450 / 40; ``llama3_1-405b`` 6000 / 175, in ms); hardware_facts 4.2.
MLPERF_SLOS = {
    "llama2-70b-server": (2.0, 0.200, 99.0),
    "llama2-70b-interactive": (0.450, 0.040, 99.0),
    "llama3.1-405b-server": (6.0, 0.175, 99.0),
}
ARRIVALS = ("poisson", "gamma")
LENGTH_KINDS = ("fixed", "uniform", "lognormal")
POLICIES = ("fcfs", "chunked")
ROUTERS = ("round_robin", "least_outstanding")
TOP_KEYS = ("design", "pools", "link", "arrivals", "lengths", "n_requests", "duration_s", "seed", "policy", "slo",
            "replicas", "router", "max_rate", "curve", "title")
TRACE_COLUMNS = ("arrival_s", "prompt_tokens", "output_tokens")
PERCENTILE = Range(0.0, 100.0, lo_open=True)
#: Defaults of the policy block [assumption: a vLLM-like engine; state your own].
POLICY_DEFAULTS = {"kind": "fcfs", "max_slots": 64, "token_budget": 8192, "page_tokens": 16, "preempt": "recompute"}
PREEMPT = ("recompute", "none")
DEFAULT_REQUESTS = 1000


@dataclasses.dataclass(frozen=True)
class LengthSpec:
    """A token-count distribution: ``fixed`` (mean), ``uniform`` on [lo, hi], or ``lognormal``
    with a mean and coefficient of variation, clipped to [lo, hi]."""

    kind: str
    mean: float
    cv: float = 0.0
    lo: float = 1.0
    hi: float = math.inf


@dataclasses.dataclass(frozen=True)
class Trace:
    """Requests read from a CSV file, sorted by arrival (host float64 arrays)."""

    path: str
    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    @property
    def rate_per_s(self) -> float:
        """Mean arrival rate: (n - 1) / (last - first arrival); inf for one request or one instant."""
        span = float(self.arrival_s[-1] - self.arrival_s[0])
        return (len(self.arrival_s) - 1) / span if span > 0 else math.inf


@dataclasses.dataclass(frozen=True)
class SLOSpec:
    """Service-level objective: TTFT and TPOT bounds met at ``percentile`` (MLPerf: 99)."""

    ttft_s: float
    tpot_s: float
    percentile: float = 99.0
    name: str = ""


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """A validated serve config. ``design`` for one pool, or ``prefill`` + ``decode`` and the
    link between them for a disaggregated system."""

    design: Design | None
    prefill: Design | None
    decode: Design | None
    link_bw_bytes_per_s: float
    link_latency_s: float
    arrival: str  # poisson | gamma | trace
    rate_per_s: float  # the trace's own rate when not given
    cv: float
    trace: Trace | None
    prompt: LengthSpec | None
    output: LengthSpec | None
    n_requests: int
    duration_s: float | None  # arrivals after this are not simulated (None: all n_requests)
    seed: int
    policy: dict  # kind, max_slots, token_budget, page_tokens, preempt (recompute|none), max_requests
    slo: SLOSpec
    replicas: int
    router: str
    max_rate: dict  # lo_per_s, hi_per_s, points
    curve: dict  # points (rates of the sweep)
    title: str

    @property
    def disaggregated(self) -> bool:
        """Whether the system is a prefill pool and a decode pool (``pools:``)."""
        return self.design is None

    @property
    def chips(self) -> int:
        """Accelerators of the whole system (every replica, or both pools)."""
        if self.disaggregated:
            return sum(_replica_chips(d) * int(d.mapping.dp) for d in (self.prefill, self.decode))
        return _replica_chips(self.design) * self.replicas


def _replica_chips(design: Design) -> int:
    m = design.mapping
    return int(round(float(m.tp) * float(m.pp)))


def _num(where, key, value, allowed):
    return parse_number(where, key, value, require_source=False, allowed=allowed)


def _int(where, key, value, allowed=COUNT):
    x = _num(where, key, value, allowed)
    if x != int(x):
        raise ConfigError(f"{where}: {key} = {value!r}; allowed: {dataclasses.replace(allowed, integer=True).describe()}")
    return int(x)


def _block(cfg, key):
    block = cfg.get(key)
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(f"{key}: expected a mapping of key: value, got {block!r}")
    return block


def _bare(value):
    """A design entry written ``[value, "source"]`` -> value."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and isinstance(value[1], str):
        return value[0]
    return value


def _design(where, block) -> Design:
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a mapping of evaluate keys (hardware, model, tp, ...), got {block!r}")
    try:
        return build_design({k: _bare(v) for k, v in block.items()})
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def parse_lengths(where: str, block) -> LengthSpec:
    """``{kind: fixed|uniform|lognormal, mean, cv, lo, hi}`` -> :class:`LengthSpec`."""
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected {{kind: fixed|uniform|lognormal, mean: ...}}, got {block!r}")
    kind = block.get("kind", "fixed")
    check_choice(where, "kind", kind, LENGTH_KINDS)
    need = {"fixed": ["mean"], "uniform": ["lo", "hi"], "lognormal": ["mean", "cv"]}[kind]
    check_keys(f"{where} ({kind})", block, need, ["kind", "lo", "hi"] + (["cv"] if kind == "fixed" else []))
    tokens = Range(1.0, 2.0**31 - 1)
    lo = _num(where, "lo", block.get("lo", 1), tokens)
    hi = _num(where, "hi", block["hi"], tokens) if "hi" in block else math.inf
    if hi < lo:
        raise ConfigError(f"{where}: hi = {block['hi']!r} is below lo = {block.get('lo', 1)!r}; allowed: hi >= lo")
    if kind == "uniform":
        return LengthSpec("uniform", 0.5 * (lo + hi), 0.0, lo, hi)
    mean = _num(where, "mean", block["mean"], tokens)
    if not lo <= mean <= hi:
        raise ConfigError(f"{where}: mean = {block['mean']!r} outside [lo, hi] = [{lo:g}, {hi:g}]")
    cv = _num(where, "cv", block["cv"], POSITIVE) if kind == "lognormal" else 0.0
    return LengthSpec(kind, mean, cv, lo, hi)


def read_trace(path) -> Trace:
    """Read a request trace CSV (header with :data:`TRACE_COLUMNS`); rows sorted by arrival.

    Raises:
        ConfigError: a missing file or column, or a row whose field is missing, not a number,
            negative (arrival) or not a whole number >= 1 (tokens), naming the line (1 = header).
    """
    path = os.fspath(path)
    text = read_bytes(path, "trace file")
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ConfigError(f"trace file {path!r} is not UTF-8 text (byte {e.start}); allowed: a CSV file") from None
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in TRACE_COLUMNS if c not in header]
    if missing:
        raise ConfigError(f"trace file {path!r} line 1: header {header!r} lacks column(s) {', '.join(missing)}; "
                          f"allowed: a header naming {', '.join(TRACE_COLUMNS)}")
    idx = [header.index(c) for c in TRACE_COLUMNS]
    rows = []
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        vals = []
        for col, i in zip(TRACE_COLUMNS, idx):
            cell = row[i].strip() if i < len(row) else ""
            where = f"trace file {path!r} line {line_no}: {col}"
            if not cell:
                raise ConfigError(f"{where} is missing; allowed: a number")
            try:
                x = float(cell)
            except ValueError:
                raise ConfigError(f"{where} = {cell!r} is not a number") from None
            ok = (math.isfinite(x) and x >= 0) if col == "arrival_s" else (math.isfinite(x) and x >= 1 and x == int(x))
            if not ok:
                allowed = "a finite number >= 0 (seconds)" if col == "arrival_s" else "a whole number of tokens >= 1"
                raise ConfigError(f"{where} = {cell!r}; allowed: {allowed}")
            vals.append(x)
        rows.append(vals)
    if not rows:
        raise ConfigError(f"trace file {path!r} has no requests (only a header); allowed: at least one row")
    a = np.asarray(rows, float)
    order = np.argsort(a[:, 0], kind="stable")
    a = a[order]
    return Trace(path, a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy())


def _percentile(value) -> float:
    try:
        x = _num("slo", "percentile", value, PERCENTILE)
    except ConfigError:
        x = 100.0
    if x >= 100.0:
        raise ConfigError(f"slo: percentile = {value!r}; allowed: a finite number in (0, 100) (open at both ends)")
    return x


def _slo(block) -> SLOSpec:
    if not block:
        raise ConfigError("slo: missing; give {mlperf: " + " | ".join(MLPERF_SLOS) + "} or {ttft_s, tpot_s, percentile}")
    if "mlperf" in block:
        check_keys("slo", block, ["mlperf"], ["percentile"])
        name = check_choice("slo", "mlperf", block["mlperf"], tuple(MLPERF_SLOS))
        ttft, tpot, pct = MLPERF_SLOS[name]
        if "percentile" in block:
            pct = _percentile(block["percentile"])
        return SLOSpec(ttft, tpot, pct, name)
    check_keys("slo", block, ["ttft_s", "tpot_s"], ["percentile"])
    pct = _percentile(block.get("percentile", 99.0))
    return SLOSpec(_num("slo", "ttft_s", block["ttft_s"], POSITIVE), _num("slo", "tpot_s", block["tpot_s"], POSITIVE),
                   pct, "")


def _policy(block, n_requests: int) -> dict:
    check_keys("policy", block, [], list(POLICY_DEFAULTS) + ["max_requests", "prefill_max_slots"])
    out = dict(POLICY_DEFAULTS)
    if "kind" in block:
        out["kind"] = check_choice("policy", "kind", block["kind"], POLICIES)
    for key in ("max_slots", "token_budget", "page_tokens", "prefill_max_slots"):
        if key in block:
            out[key] = _int("policy", key, block[key])
    if "preempt" in block:  # true / false: recompute / none
        p = block["preempt"]
        p = {True: "recompute", False: "none"}.get(p, p) if isinstance(p, bool) else p
        out["preempt"] = check_choice("policy", "preempt", p, PREEMPT)
    out["max_requests"] = _int("policy", "max_requests", block["max_requests"]) if "max_requests" in block else n_requests
    if n_requests > out["max_requests"]:
        raise ConfigError(f"n_requests = {n_requests} exceeds policy.max_requests = {out['max_requests']} "
                          "(the simulator's fixed request capacity); raise policy.max_requests or lower n_requests")
    return out


def parse_serve_config(cfg: dict, base_dir: str | None = None, overrides: dict | None = None) -> ServeConfig:
    """Validate a serve config mapping (keys :data:`TOP_KEYS`).

    Args:
        cfg: the YAML mapping.
        base_dir: directory a relative ``arrivals.trace`` path is read from (default: cwd).
        overrides: ``rate_per_s``, ``n_requests``, ``seed`` replacing the config's (None: keep).

    Raises:
        ConfigError: naming the field, the bad value and what is allowed.
    """
    if not isinstance(cfg, dict):
        raise ConfigError(f"serve config: expected a mapping at the top level, got {type(cfg).__name__}")
    check_keys("serve config", cfg, [], TOP_KEYS)
    ov = {k: v for k, v in (overrides or {}).items() if v is not None}
    # Arrivals and lengths.
    arr = _block(cfg, "arrivals")
    trace = None
    if "trace" in arr:
        check_keys("arrivals", arr, ["trace"], ["rate_per_s"])
        tpath = os.fspath(arr["trace"]) if isinstance(arr["trace"], (str, os.PathLike)) else None
        if tpath is None:
            raise ConfigError(f"arrivals: trace = {arr['trace']!r}; allowed: the path of a CSV file")
        if base_dir and not os.path.isabs(tpath):
            tpath = os.path.join(base_dir, tpath)
        trace = read_trace(tpath)
        kind, cv = "trace", 1.0
        if "lengths" in cfg:
            raise ConfigError("lengths: not used with arrivals.trace (the trace gives every request's lengths); remove it")
        rate = arr.get("rate_per_s")
    else:
        check_keys("arrivals", arr, ["rate_per_s"], ["kind", "cv"])
        kind = check_choice("arrivals", "kind", arr.get("kind", "poisson"), ARRIVALS)
        if kind == "poisson" and "cv" in arr:
            raise ConfigError("arrivals: cv is for kind gamma (a Poisson process has cv 1); remove it or set kind: gamma")
        cv = _num("arrivals", "cv", arr.get("cv", 1.0), POSITIVE)
        rate = arr["rate_per_s"]
    if "rate_per_s" in ov:
        rate = ov["rate_per_s"]
    rate = trace.rate_per_s if rate is None else _num("arrivals", "rate_per_s", rate, POSITIVE)
    prompt = output = None
    if trace is None:
        lengths = _block(cfg, "lengths")
        check_keys("lengths", lengths, ["prompt", "output"])
        prompt, output = parse_lengths("lengths.prompt", lengths["prompt"]), parse_lengths("lengths.output", lengths["output"])
    n_default = len(trace.arrival_s) if trace is not None else DEFAULT_REQUESTS
    n = _int("serve config", "n_requests", ov.get("n_requests", cfg.get("n_requests", n_default)))
    if trace is not None and n > len(trace.arrival_s):
        raise ConfigError(f"n_requests = {n} exceeds the {len(trace.arrival_s)} requests of trace {trace.path!r}")
    seed = _int("serve config", "seed", ov.get("seed", cfg.get("seed", 0)), SEED)
    duration = _num("serve config", "duration_s", cfg["duration_s"], POSITIVE) if "duration_s" in cfg else None
    if duration is not None and trace is None and ("n_requests" in cfg or "n_requests" in ov):
        raise ConfigError("n_requests and duration_s: a run of duration_s seconds sizes its own request count "
                          "(rate x duration); give one of them")
    policy = _policy(_block(cfg, "policy"), n)
    slo = _slo(_block(cfg, "slo"))
    # Designs.
    if ("design" in cfg) == ("pools" in cfg):
        raise ConfigError("serve config: give exactly one of `design:` (one pool) or `pools: {prefill, decode}` "
                          "(disaggregated)")
    design = prefill = decode = None
    link_bw = link_lat = 0.0
    if "design" in cfg:
        design = _design("design", cfg["design"])
        if "link" in cfg:
            raise ConfigError("link: only with `pools:` (the KV link between prefill and decode pools)")
    else:
        pools = _block(cfg, "pools")
        check_keys("pools", pools, ["prefill", "decode"])
        prefill, decode = _design("pools.prefill", pools["prefill"]), _design("pools.decode", pools["decode"])
        link = _block(cfg, "link")
        check_keys("link", link, ["bw_bytes_per_s", "latency_s"])
        link_bw = _num("link", "bw_bytes_per_s", link["bw_bytes_per_s"], POSITIVE)
        link_lat = _num("link", "latency_s", link["latency_s"], Range())
    if "prefill_max_slots" in policy and design is not None:
        raise ConfigError("policy: prefill_max_slots is for `pools:` (the prefill pool's batch slots); remove it")
    # Fleet.
    router = check_choice("serve config", "router", cfg.get("router", "round_robin"), ROUTERS)
    if design is not None:
        dp = int(design.mapping.dp)
        replicas = _int("serve config", "replicas", cfg.get("replicas", dp))
        if dp not in (1, replicas):
            raise ConfigError(f"replicas = {replicas} but design.dp = {dp}; give one of them (dp is the replica count)")
    else:
        replicas = 1
        if "replicas" in cfg or "router" in cfg:
            raise ConfigError("replicas/router: not with `pools:` (each pool's dp gives its replicas)")
    mr = _block(cfg, "max_rate")
    check_keys("max_rate", mr, [], ["lo_per_s", "hi_per_s", "points"])
    max_rate = {"lo_per_s": _num("max_rate", "lo_per_s", mr["lo_per_s"], POSITIVE) if "lo_per_s" in mr else None,
                "hi_per_s": _num("max_rate", "hi_per_s", mr["hi_per_s"], POSITIVE) if "hi_per_s" in mr else None,
                "points": _int("max_rate", "points", mr.get("points", 16), Range(2, 4096))}
    if max_rate["lo_per_s"] and max_rate["hi_per_s"] and max_rate["hi_per_s"] <= max_rate["lo_per_s"]:
        raise ConfigError(f"max_rate: hi_per_s = {mr['hi_per_s']!r} must exceed lo_per_s = {mr['lo_per_s']!r}")
    cb = _block(cfg, "curve")
    check_keys("curve", cb, [], ["points"])
    curve = {"points": _int("curve", "points", cb.get("points", 12), Range(2, 4096))}
    title = cfg.get("title", "")
    if not isinstance(title, str):
        raise ConfigError(f"title = {title!r}; allowed: text")
    return ServeConfig(design, prefill, decode, link_bw, link_lat, kind, rate, cv, trace, prompt, output, n, duration, seed,
                       policy, slo, replicas, router, max_rate, curve, title)


def load_serve_config(cfg, overrides: dict | None = None) -> ServeConfig:
    """A serve config from a YAML path (a relative trace path is read next to it) or a mapping."""
    if isinstance(cfg, ServeConfig):
        if overrides and any(v is not None for v in overrides.values()):
            return dataclasses.replace(cfg, **_override_fields(cfg, overrides))
        return cfg
    if isinstance(cfg, (str, os.PathLike)):
        path = os.fspath(cfg)
        return parse_serve_config(load_experiment(path), os.path.dirname(os.path.abspath(path)), overrides)
    return parse_serve_config(cfg, None, overrides)


def _override_fields(cfg: ServeConfig, overrides: dict) -> dict:
    out = {}
    if overrides.get("rate_per_s") is not None:
        out["rate_per_s"] = _num("arrivals", "rate_per_s", overrides["rate_per_s"], POSITIVE)
    if overrides.get("seed") is not None:
        out["seed"] = integer("seed", overrides["seed"], SEED)
    if overrides.get("n_requests") is not None:
        n = integer("n_requests", overrides["n_requests"])
        if n > cfg.policy["max_requests"]:
            raise ConfigError(f"n_requests = {n} exceeds policy.max_requests = {cfg.policy['max_requests']} "
                              "(the simulator's fixed request capacity); raise policy.max_requests or lower n_requests")
        out["n_requests"] = n
    return out


__all__ = ["ARRIVALS", "LENGTH_KINDS", "LengthSpec", "MLPERF_SLOS", "POLICIES", "ROUTERS", "SLOSpec", "ServeConfig",
           "TOP_KEYS", "Trace", "load_serve_config", "parse_lengths", "parse_serve_config", "read_trace"]
