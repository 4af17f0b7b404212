"""Turn a request (a YAML config and/or CLI flags) into a validated design point.

Unset mapping values get defaults — fewest chips that fit, tensor parallelism inside a
node, pipeline stages across nodes — and ``Design.chosen`` says which were chosen and why.
Pure: the request's ``hardware``/``model`` are :class:`Hardware`/:class:`Model` values, or
preset names looked up in a :class:`~codesign.design.catalog.Catalog` the caller passes
(:data:`codesign.config.CATALOG` reads the packaged presets).
"""
import dataclasses
import math

import numpy as np

from ..errors import ConfigError
from ..model.memory import memory_use
from ..model.serving import offline_batch
from ..model.smooth import EXACT
from ..specs import DTYPES, Chip, Mapping, Scenario, System, Workload, numeric_fields
from ..specs import replace as spec_replace
from .catalog import Catalog, resolve
from .entries import check_keys
from .fields import COUNT, FRACTION, POSITIVE, field_range, integer, number
from .presets import Hardware, Model

#: Keys of an evaluate config (YAML) and of the matching CLI flags.
REQUEST_KEYS = ("hardware", "model", "chips", "tp", "pp", "ep", "dp", "batch", "prompt_tokens",
                "output_tokens", "prefill_chunk_tokens", "weight_dtype", "kv_dtype", "sram_mb",
                "utilization", "chip", "system", "calibrated", "expert_dtype", "workload")
_INT_KEYS = ("chips", "tp", "pp", "ep", "dp", "prompt_tokens", "output_tokens", "prefill_chunk_tokens")
DEFAULT_SCENARIO = {"prompt_tokens": 2048, "output_tokens": 256, "prefill_chunk_tokens": 512}
_CANDIDATES = 1024  # mappings the fewest-chips search evaluates at once (padded up to it)


@dataclasses.dataclass(frozen=True)
class Design:
    hardware: Hardware
    model: Model
    chip: Chip
    system: System
    workload: Workload
    mapping: Mapping
    scenario: Scenario
    chosen: dict  # mapping/dtype field -> why this value was chosen (only for defaults)

    @property
    def specs(self):
        return self.chip, self.system, self.workload, self.mapping, self.scenario


def _positive_int(key, value):
    return integer(key, value, COUNT)


def _dtype(chip: Chip, key, value):
    if value not in DTYPES:
        raise ConfigError(f"{key} = {value!r}; allowed: {', '.join(DTYPES)}")
    if float(chip.flops_per_s(value)) <= 0:
        ok = [d for d in DTYPES if float(chip.flops_per_s(d)) > 0]
        raise ConfigError(f"{key} = {value!r} is not supported by {chip.name}; allowed: {', '.join(ok)}")
    return value


def _overrides(spec, block, where):
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a mapping of field: value")
    names = numeric_fields(spec)
    check_keys(where, block, [], names)
    return spec_replace(spec, **{k: number(f"{where}.{k}", v, field_range(spec, k)) for k, v in block.items()})


def _divisors(n):
    return [d for d in range(1, int(n) + 1) if int(n) % d == 0]


def build_design(request: dict, catalog: Catalog | None = None) -> Design:
    """Validate ``request`` (keys in REQUEST_KEYS) and fill in defaults.

    Args:
        request: ``hardware`` and ``model`` (values, or names looked up in ``catalog``) and
            any other REQUEST_KEYS (None means unset).
        catalog: where preset names are looked up; None accepts values only.

    Raises:
        ConfigError: naming the bad key, its value and what is allowed.
    """
    check_keys("config", request, [], REQUEST_KEYS)
    req = {k: v for k, v in request.items() if v is not None}
    hw, md = resolve(req, catalog)
    for key in _INT_KEYS:
        if key in req:
            req[key] = _positive_int(key, req[key])
    chosen = {}
    chip, system = hw.chip, hw.system
    if "sram_mb" in req:
        chip = spec_replace(chip, sram_bytes=number("sram_mb", req["sram_mb"], POSITIVE) * 1e6)
    chip = _overrides(chip, req.get("chip", {}), "chip")
    system = _overrides(system, req.get("system", {}), "system")
    if "utilization" in req:
        system = spec_replace(system, utilization=number("utilization", req["utilization"], FRACTION))
    if float(chip.memory_bytes) <= 0:
        raise ConfigError(f"{chip.memory_kind}_bytes of {chip.name} must be > 0 (it holds weights and KV cache)")

    act = "bf16" if float(chip.bf16_flops_per_s) > 0 else "fp16"
    wdefault, edt = act, ""
    if "weight_dtype" not in req:
        wdefault, edt = _shipped_dtypes(chip, md, act, chosen)
    if "kv_dtype" not in req:
        chosen["kv_dtype"] = f"{act} (16-bit format the chip supports)"
    wdt = _dtype(chip, "weight_dtype", req.get("weight_dtype", wdefault))
    kdt = _dtype(chip, "kv_dtype", req.get("kv_dtype", act))
    # Activations: 8- and 4-bit float weights are served with activations in the same format
    # (TensorRT-LLM/vLLM FP8 and NVFP4 recipes quantize activations too: W8A8, W4A4) where the
    # chip computes it; int8 and other weight-only formats keep 16-bit activations, so their
    # matrix ops compute at the 16-bit rate (codesign.workload.ops.matrix_dtype).
    adt = wdt if wdt in ("fp8", "fp4", "nvfp4") and float(chip.flops_per_s(wdt)) > 0 else act
    if "expert_dtype" in req:
        edt = _dtype(chip, "expert_dtype", req["expert_dtype"])
    workload = md.workload(wdt, kdt, adt, edt)
    workload = _overrides(workload, req.get("workload", {}), "workload")
    _check_workload(workload)
    scen = {k: float(req.get(k, v)) for k, v in DEFAULT_SCENARIO.items()}
    scenario = Scenario(**scen)
    mapping = _choose_mapping(chip, system, workload, md, scenario, req, chosen)
    return Design(hw, md, chip, system, workload, mapping, scenario, chosen)


def _check_workload(w: Workload):
    """A workload override the formulas cannot take: zero sizes, more special layers than
    layers, a probability past 1."""
    for k in ("layers", "d_model", "n_heads", "head_dim", "vocab"):
        if float(getattr(w, k)) <= 0:
            raise ConfigError(f"workload.{k} = {float(getattr(w, k)):g}; allowed: > 0")
    for k in ("dense_layers", "sliding_layers"):
        if float(getattr(w, k)) > float(w.layers):
            raise ConfigError(f"workload.{k} = {float(getattr(w, k)):g}; allowed: 0..{float(w.layers):g} (the layers)")
    if float(w.mtp_acceptance) > 1:
        raise ConfigError(f"workload.mtp_acceptance = {float(w.mtp_acceptance):g}; allowed: a probability in [0, 1]")


def _shipped_dtypes(chip: Chip, md: Model, act: str, chosen: dict):
    """Default weight and expert formats: those the checkpoint ships in (DeepSeek fp8,
    gpt-oss MXFP4 experts) where the chip runs them, else the 16-bit ``act``; says why."""
    runs = lambda d: float(chip.flops_per_s(d)) > 0  # noqa: E731
    wdt = md.weight_dtype if md.weight_dtype and runs(md.weight_dtype) else act
    if wdt != act:
        chosen["weight_dtype"] = f"{wdt}: the format {md.name} ships in"
    elif md.weight_dtype and md.weight_dtype != act:
        chosen["weight_dtype"] = f"{act}: {md.name} ships in {md.weight_dtype}, which {chip.name} does not compute"
    else:
        chosen["weight_dtype"] = f"{act} (16-bit format the chip supports)"
    edt = md.expert_dtype if md.expert_dtype and runs(md.expert_dtype) else ""
    if edt:
        how = ("on its fp4 units" if float(chip.fp4_flops_per_s) > 0
               else f"dequantised to 16 bits: {chip.name} has no fp4 units")
        chosen["expert_dtype"] = f"{edt}: {md.name} ships its expert weights in {edt} ({how})"
    return wdt, edt


def _check_tp_pp(md: Model, tp, pp):
    """A given tp or pp the model cannot take (checked before any search for the fewest chips,
    so the error names it rather than "does not fit")."""
    heads, layers = int(md.dims["n_heads"]), int(md.dims["layers"])
    if tp is not None and heads % tp:
        raise ConfigError(f"tp = {tp} does not divide the {heads} attention heads of {md.name}; "
                          f"allowed: {', '.join(map(str, _divisors(heads)))}")
    if pp is not None and pp > layers:
        raise ConfigError(f"pp = {pp} exceeds the {layers} layers of {md.name}; allowed: 1..{layers}")


def _check_mapping(md: Model, w: Workload, tp, pp, ep):
    experts = int(md.dims["n_experts"])
    _check_tp_pp(md, tp, pp)
    if ep > 1 and experts == 0:
        raise ConfigError(f"ep = {ep} but {md.name} is dense; allowed: 1")
    if experts and (experts % ep or tp % ep):
        raise ConfigError(f"ep = {ep} must divide both tp = {tp} and the {experts} experts; allowed: "
                          f"{', '.join(str(d) for d in _divisors(math.gcd(tp, experts)))}")


def _fits(chip, w, mapping, scenario):
    return float(memory_use(EXACT, chip, w, mapping, scenario).fits) > 0


def _choose_mapping(chip, system, w, md, scenario, req, chosen) -> Mapping:
    heads, layers = int(md.dims["n_heads"]), int(md.dims["layers"])
    cpn = int(float(system.chips_per_node))
    dp = req.get("dp", 1)
    batch_req = req.get("batch", 1)
    if batch_req != "max":
        batch_req = _positive_int("batch", batch_req)
    fit_batch = 1 if batch_req == "max" else batch_req
    node_tps = [d for d in _divisors(heads) if d <= cpn]

    def mapping(tp, pp, ep, batch=fit_batch):
        f = lambda x: np.asarray(x, float)
        return Mapping(tp=f(tp), pp=f(pp), ep=f(ep), dp=f(dp), batch=f(batch))

    tp, pp, chips = req.get("tp"), req.get("pp"), req.get("chips")
    _check_tp_pp(md, tp, pp)
    if chips is not None:
        if chips % dp:
            raise ConfigError(f"chips = {chips} is not a multiple of dp = {dp}")
        per = chips // dp
        if tp is None and pp is not None:
            if per % pp:
                raise ConfigError(f"chips / dp = {per} is not a multiple of pp = {pp}")
            tp = per // pp
            chosen["tp"] = f"{tp} = chips / (dp x pp)"
        if tp is None:
            tp = max(d for d in node_tps if per % d == 0)
            chosen["tp"] = f"{tp}: largest divisor of the heads within a node ({cpn} chips) dividing chips"
        if per % tp:
            raise ConfigError(f"chips / dp = {per} is not a multiple of tp = {tp}")
        if pp is None:
            pp = per // tp
            chosen["pp"] = f"{pp} = chips / (dp x tp)"
        elif tp * pp != per:
            raise ConfigError(f"chips = {chips} but tp x pp x dp = {tp * pp * dp}; give two of them")
    ep = req.get("ep")
    experts = int(md.dims["n_experts"])
    if tp is None or pp is None:
        # Fewest chips that fit: grow tp inside a node first, then pipeline stages.
        options = [(t, p) for t in ([tp] if tp else node_tps) for p in ([pp] if pp else range(1, layers + 1))]
        options.sort(key=lambda tpp: (tpp[0] * tpp[1], -tpp[0]))
        # Padded (repeating the last option) to a fixed bucket of candidates, so that the
        # eager memory evaluation reuses the ops JAX compiled for the last design's shape.
        padded = options + options[-1:] * (max(_CANDIDATES, 1 << (len(options) - 1).bit_length()) - len(options))
        t_arr = np.array([o[0] for o in padded], float)
        p_arr = np.array([o[1] for o in padded], float)
        e_arr = np.array([ep or (math.gcd(int(t), experts) if experts else 1) for t in t_arr], float)
        # One vectorised memory evaluation over all candidates (the model is elementwise).
        fits = np.asarray(memory_use(EXACT, chip, w, mapping(t_arr, p_arr, e_arr), scenario).fits)[:len(options)] > 0
        if not fits.any():
            raise ConfigError(f"{md.name} does not fit on {chip.name} with pp <= {layers} stages and "
                              f"tp <= {max(node_tps)} per node at batch {fit_batch}; raise tp or dp, or lower the batch")
        t, p = options[int(np.argmax(fits))]
        inside = "fewest chips that fit, tensor parallel inside a node"
        if tp is None and p > 1 and t * p <= cpn:
            # It fits inside one node (an NVLink/NVSwitch, Infinity Fabric, ICI or C2C domain, 72
            # GPUs on an NVL72): serve it tensor parallel across the node, experts split over the
            # same chips, rather than as pipeline stages inside it: the smallest such tp that fits.
            one_stage = [o for o, f in zip(options, fits) if f and o[1] == 1 and o[0] >= t * p]
            if one_stage:
                t, p = min(one_stage)
                inside = f"smallest tp that fits in one stage inside a node ({cpn} chips): tensor parallel, not pipelined"
        if tp is None:
            chosen["tp"] = f"{t}: {inside}"
        if pp is None:
            chosen["pp"] = f"{p}: fewest chips that fit" if p > 1 or "pipelined" not in inside else "1: one stage inside a node"
        tp, pp = t, p
    if ep is None:
        ep = math.gcd(tp, experts) if experts else 1
        if experts:
            chosen["ep"] = (f"{ep}: expert parallel over the tensor-parallel chips inside the node "
                            f"(gcd of tp = {tp} and the {experts} experts)")
    _check_mapping(md, w, tp, pp, ep)
    batch = batch_req
    if batch_req == "max":
        batch = int(offline_batch(chip, w, mapping(tp, pp, ep), scenario))
        if not _fits(chip, w, mapping(tp, pp, ep, batch), scenario):
            raise ConfigError("batch = max: not even one sequence's KV cache fits at this mapping")
        chosen["batch"] = f"{batch}: largest batch whose KV cache fits"
    elif "batch" not in req:
        chosen["batch"] = "1 (default)"
    return Mapping(tp=float(tp), pp=float(pp), ep=float(ep), dp=float(dp), batch=float(batch))
