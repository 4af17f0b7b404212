"""A two-pool (prefill + decode) request -> a validated heterogeneous design point. Pure.

    model: llama-3.1-70b
    weight_dtype: int8            # one workload: the same formats on both pools
    pools:
      prefill: {hardware: h100-sxm, tp: 8}
      decode:  {hardware: groq-lpu-v1, tp: 8, pp: 49, batch: 8}
    link: {bw_bytes_per_s: 50.0e+9, latency_s: 10.0e-6, pj_per_byte: 40.0}

Each pool is built by :func:`codesign.design.build_design` from the shared keys plus its own
(so defaults and errors are the single-pool ones, prefixed with ``pools.<name>``). The decode
pool's mapping is chosen without a prefill chunk in its working set; the prefill pool's
``batch`` (prompts whose KV a replica holds) defaults to pp + 1 (one per pipeline stage plus one
being sent). Link numbers are bare or ``[value, "source"]``.
"""
import dataclasses

from ..errors import ConfigError
from ..model.disaggregated import Pool, PoolLink
from ..specs import DTYPES, Scenario, Workload
from ..specs import replace as spec_replace
from .build import DEFAULT_SCENARIO, Design, build_design
from .catalog import Catalog, hardware_of
from .entries import check_keys, parse_number, source_of
from .fields import NONNEGATIVE, POSITIVE, integer

#: Keys shared by both pools (the workload, scenario and economics of the whole system).
SHARED_KEYS = ("model", "weight_dtype", "kv_dtype", "prompt_tokens", "output_tokens", "prefill_chunk_tokens",
               "utilization", "calibrated")
#: Top-level keys of a two-pool config.
DISAGGREGATED_KEYS = (*SHARED_KEYS, "pools", "link")
#: Keys of one pool's block.
POOL_KEYS = ("hardware", "chips", "tp", "pp", "ep", "dp", "batch", "sram_mb", "chip", "system")
POOL_NAMES = ("prefill", "decode")
#: Link fields and their allowed ranges.
LINK_RANGES = {"bw_bytes_per_s": POSITIVE, "latency_s": NONNEGATIVE, "pj_per_byte": NONNEGATIVE}


@dataclasses.dataclass(frozen=True)
class DisaggregatedDesign:
    """Both pools' designs (each as a single-pool :class:`Design`: the same model and weight/KV
    formats, each pool's own activation format), the link, the prefill pool's workload, the
    shared scenario, and the link numbers' sources."""

    prefill: Design
    decode: Design
    link: PoolLink
    workload: Workload
    scenario: Scenario
    link_sources: dict

    @property
    def specs(self):
        """Arguments of :func:`codesign.model.disaggregated.evaluate_disaggregated`."""
        pool = lambda d: Pool(chip=d.chip, system=d.system, workload=d.workload, mapping=d.mapping)  # noqa: E731
        return pool(self.prefill), pool(self.decode), self.link, self.scenario

    def pool(self, name: str) -> Design:
        return getattr(self, name)


def _common_dtype(chips) -> str:
    """The 16-bit format every chip supports (bf16 first)."""
    for d in ("bf16", "fp16"):
        if all(float(c.flops_per_s(d)) > 0 for c in chips):
            return d
    ok = [d for d in DTYPES if all(float(c.flops_per_s(d)) > 0 for c in chips)]
    raise ConfigError(f"weight_dtype / kv_dtype: give them, the pools share no 16-bit format; allowed "
                      f"(supported by both pools): {', '.join(ok) or 'none'}")


def parse_link(block) -> tuple[PoolLink, dict]:
    """``link: {bw_bytes_per_s, latency_s, pj_per_byte}`` -> (PoolLink, sources)."""
    if not isinstance(block, dict):
        raise ConfigError(f"link = {block!r}; allowed: a mapping with keys {', '.join(LINK_RANGES)}")
    check_keys("link", block, list(LINK_RANGES))
    values = {k: parse_number("link", k, block[k], require_source=False, allowed=r) for k, r in LINK_RANGES.items()}
    return PoolLink(**values), {k: source_of(block[k]) for k in LINK_RANGES}


def build_disaggregated(request: dict, catalog: Catalog | None = None) -> DisaggregatedDesign:
    """Validate a two-pool ``request`` (keys :data:`DISAGGREGATED_KEYS`; ``pools.prefill`` and
    ``pools.decode`` with :data:`POOL_KEYS`; ``link`` with the keys of :data:`LINK_RANGES`).

    Raises:
        ConfigError: naming the bad key (``pools.decode.tp``, ``link.bw_bytes_per_s``, ...), its
            value and what is allowed.
    """
    check_keys("config", request, ["model", "pools", "link"], DISAGGREGATED_KEYS)
    pools = request["pools"]
    if not isinstance(pools, dict):
        raise ConfigError(f"pools = {pools!r}; allowed: a mapping with keys {', '.join(POOL_NAMES)}")
    check_keys("pools", pools, list(POOL_NAMES))
    for name in POOL_NAMES:
        if not isinstance(pools[name], dict):
            raise ConfigError(f"pools.{name} = {pools[name]!r}; allowed: a mapping with keys {', '.join(POOL_KEYS)}")
        check_keys(f"pools.{name}", pools[name], ["hardware"], POOL_KEYS)
    link, sources = parse_link(request["link"])
    shared = {k: v for k, v in request.items() if k in SHARED_KEYS and v is not None}
    calibrated = shared.get("calibrated", False)
    if "weight_dtype" not in shared or "kv_dtype" not in shared:
        chips = []
        for n in POOL_NAMES:
            try:
                chips.append(hardware_of(pools[n]["hardware"], catalog, calibrated, f"pools.{n}.hardware").chip)
            except ConfigError as e:
                raise ConfigError(f"pools.{n}: {e}") from None
        default = _common_dtype(chips)
        shared = {"weight_dtype": default, "kv_dtype": default, **shared}
    output = integer("output_tokens", shared.get("output_tokens", DEFAULT_SCENARIO["output_tokens"]))
    designs = {}
    for name in POOL_NAMES:
        block = dict(pools[name])
        # Each pool's default mapping is chosen for its own working set: a prefill replica holds
        # prompts (KV of prompt_tokens), a decode replica runs no prefill chunk.
        sub = {**shared, **block}
        if name == "prefill":
            sub["output_tokens"] = 1
        else:
            sub["prefill_chunk_tokens"] = 1
        try:
            d = build_design(sub, catalog)
        except ConfigError as e:
            raise ConfigError(f"pools.{name}: {e}") from None
        if name == "prefill" and "batch" not in block:
            held = float(d.mapping.pp) + 1.0
            d = dataclasses.replace(d, mapping=spec_replace(d.mapping, batch=held), chosen={
                **d.chosen, "batch": f"{held:.0f}: prompts a replica holds (pp = {float(d.mapping.pp):.0f} "
                                     "in the pipeline + 1 whose KV is being sent)"})
        designs[name] = d
    p = designs["prefill"]
    scenario = spec_replace(p.scenario, output_tokens=float(output))
    return DisaggregatedDesign(prefill=p, decode=designs["decode"], link=link, workload=p.workload,
                               scenario=scenario, link_sources=sources)


__all__ = ["DISAGGREGATED_KEYS", "DisaggregatedDesign", "LINK_RANGES", "POOL_KEYS", "POOL_NAMES", "SHARED_KEYS",
           "build_disaggregated", "parse_link"]
