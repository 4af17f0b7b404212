r"""A heterogeneous (disaggregated) system: a prefill pool and a decode pool of possibly
different chips, joined by a link that carries each request's KV cache.

Per request: the prompt is prefilled on a prefill replica (the single-pool model's time to
first token and stage occupancy, :func:`codesign.model.timing.prefill_time`), its KV cache
(``prompt_tokens x kv_bytes_per_token``) crosses the link, and the decode pool generates the
output at its own batch (the single-pool decode step, :func:`codesign.model.timing.decode_time`).
Energy, power and money use the single-pool formulas per pool (:mod:`codesign.model.energy`,
:mod:`codesign.model.cost`). Each pool runs at its chip's configured clock (no power-cap
throttling per pool); ``chip_power_w`` gives each pool's mean power per chip to compare with
the chip's limit. Assumptions, stated once:

* **No overlap of a request's transfer with its own prefill** (the KV is sent when the prefill
  ends; layer-by-layer streaming as in DistServe/Splitwise would hide most of it, so this is the
  conservative bound), and the first token reaches the user when the decode pool holds the KV:

  .. math:: \mathrm{TTFT} = t_\mathrm{prefill} + \ell + \frac{n_\mathrm{prompt}\,k}{b\,\min(c_p, c_d)},

  with :math:`\ell` the link latency, :math:`k` KV bytes per token, :math:`b` the link bandwidth
  of one chip (each chip has its own NIC to the other pool, per direction) and :math:`c_p, c_d`
  the chips of one prefill and one decode replica (a transfer runs over the smaller side's NICs).
  A transfer does overlap the *next* prompt's prefill (NICs/DMA engines run beside compute).
* **Rates.** A prefill replica starts a new prompt every busiest-stage occupancy
  :math:`o_p` (prompts pipelined back to back, as in the single-pool model); a decode replica
  of batch :math:`B` at step time :math:`t_d` finishes :math:`B / (n_\mathrm{out} t_d)`
  requests/s (every output token one decode step, as in the single-pool model; no prefill
  stalls: the decode pool runs no prefill). The link carries at most
  :math:`b \min(C_p, C_d) / (n_\mathrm{prompt} k)` requests/s (:math:`C`: all chips of a pool).
  The pools run concurrently, so

  .. math:: R = \min\Big(\frac{dp_p}{o_p},\ \frac{dp_d B}{n_\mathrm{out} t_d},\ R_\mathrm{link}\Big),
            \qquad X = R\, n_\mathrm{out}.

* **Balancing rule.** The split is balanced when both pools' rates are equal:
  :math:`dp_p / dp_d = o_p B / (n_\mathrm{out} t_d)` (``balanced_prefill_replicas`` reports the
  prefill replicas that balance the decode pool). With identical pools, an unbounded link and
  this (possibly fractional) split of the same total replicas, :math:`X` equals the single-pool
  continuous-batching throughput :math:`D B n / (n t_d + B o_p)` exactly.
* **Busy fractions.** Each pool is busy :math:`u = R / R_\mathrm{pool}` of the time at its
  stated operating point and idle otherwise: its power is idle power, plus :math:`u` times the
  busy chips' work-independent power above idle (the energy model's active baseline, where it
  has one), plus the dynamic energy of the work it does at rate :math:`R`. The link's energy (pJ/byte) is reported on its own; its hardware
  (NICs) is part of the nodes' cost and host power.
* **Memory.** A prefill replica holds weights, activations and the KV of ``mapping.batch``
  prompts of ``prompt_tokens`` each (the prompts in its pipeline plus those being sent); a decode
  replica holds weights, the KV of its batch at ``prompt + output`` tokens and one decode
  micro-batch of activations (it runs no prefill chunk). ``fits`` needs both.
* **Money.** Each pool's TCO is its capex plus its opex over its own system lifetime; $/Mtok is
  the sum over the pools of each TCO over the tokens served in that pool's lifetime at its
  system's utilization (:func:`codesign.model.cost.usd_per_million_tokens`).

Pure and jit/vmap/grad-friendly; ``fidelity`` is static.
"""
import jax
import jax.numpy as jnp

from ..errors import ConfigError
from ..specs import Chip, Mapping, Scenario, System, Workload
from ..specs import replace as spec_replace
from ..specs._pytree import numeric_fields, pytree_dataclass
from ..workload import kv_bytes_per_token
from . import cost
from .energy import dynamic_j, idle_power_w, joules_per_token_by_boundary
from .memory import memory_use, microbatches
from .smooth import EXACT, Fidelity, sceil, smin
from .timing import decode_time, prefill_time


@pytree_dataclass
class Pool:
    """One pool of a heterogeneous system: its chip, the system it ships in, the workload as it
    runs there (the same model and weight/KV formats on both pools; the activation format is the
    chip's) and its mapping (``dp`` = replicas in the pool; ``batch``: decode sequences per
    replica, or for the prefill pool the prompts whose KV a replica holds at once)."""

    chip: Chip
    system: System
    workload: Workload
    mapping: Mapping


@pytree_dataclass
class PoolLink:
    """The network between the pools (SI units).

    ``bw_bytes_per_s``: bandwidth per chip to the other pool, per direction (each chip's NIC);
    ``latency_s``: one-way latency of a transfer; ``pj_per_byte``: energy per byte moved.
    """

    bw_bytes_per_s: float
    latency_s: float
    pj_per_byte: float


@pytree_dataclass
class PoolShare:
    """One pool's part of a heterogeneous system (SI units; ``*_share`` are fractions)."""

    chips: float
    nodes: float
    replicas: float
    batch: float
    fits: float
    memory_per_chip_bytes: float
    memory_capacity_bytes: float
    weight_bytes_per_chip: float
    kv_bytes_per_chip: float
    act_bytes_per_chip: float
    requests_per_s_capacity: float  # requests/s when busy all the time
    busy_fraction: float  # share of time the pool works (1 for the bottleneck pool)
    power_w: float  # node boundary, while the system serves
    idle_power_w: float
    power_share: float
    joules_per_token: float  # node boundary, per system output token
    chip_power_w: float  # mean accelerator power of one chip while the system serves (static + dynamic)
    chip_price_usd: float
    capex_usd: float
    opex_usd_per_year: float
    tco_usd: float
    cost_share: float  # share of the system's TCO
    capex_share: float
    usd_per_million_tokens: float


@pytree_dataclass
class LinkUse:
    """The inter-pool link's part: bytes and time per request, capacity, load and power."""

    bytes_per_request: float
    transfer_s: float
    requests_per_s_capacity: float
    busy_fraction: float
    power_w: float
    power_share: float


@pytree_dataclass
class DisaggregatedMetrics:
    """What the model reports for a two-pool design (SI units; all leaves are floats)."""

    ttft_s: float  # prefill + KV transfer
    prefill_s: float
    transfer_s: float
    decode_s_per_token: float
    decode_tokens_per_s_per_user: float
    latency_s: float  # TTFT + (output_tokens - 1) decode steps
    requests_per_s: float
    throughput_tokens_per_s: float
    balanced_prefill_replicas: float  # prefill replicas whose rate equals the decode pool's
    chips: float
    fits: float
    power_w: float
    idle_power_w: float
    joules_per_token: float  # node boundary = joules_per_token_node
    joules_per_token_chip: float
    joules_per_token_node: float
    joules_per_token_facility: float
    capex_usd: float
    opex_usd_per_year: float
    tco_usd: float
    usd_per_million_tokens: float
    prefill: PoolShare
    decode: PoolShare
    link: LinkUse

    def to_dict(self) -> dict:
        """Floats, with ``prefill``, ``decode`` and ``link`` as nested dicts."""
        out = {}
        for k in numeric_fields(self):
            v = getattr(self, k)
            out[k] = {f: float(getattr(v, f)) for f in numeric_fields(v)} if k in _PARTS else float(v)
        return out


_PARTS = ("prefill", "decode", "link")


def _pool_costs(pool: Pool, dyn_j_per_token, tokens_per_s, busy):
    """One pool's idle power, energy by boundary per system token, serving power, capex, opex
    and TCO (the single-pool formulas of :mod:`codesign.model.evaluate` for its chips). The
    pool's chips draw their busy (work-independent) power ``busy`` of the time and their idle
    power otherwise."""
    c, s, chips = pool.chip, pool.system, pool.mapping.chips
    node_share = chips / s.chips_per_node  # hosts and node cost charged per chip used, as in evaluate
    idle = idle_power_w(c, s, chips, node_share)
    full = joules_per_token_by_boundary(c, s, dyn_j_per_token, chips, node_share, tokens_per_s)  # busy always
    base = joules_per_token_by_boundary(c, s, jnp.zeros_like(dyn_j_per_token), chips, node_share, tokens_per_s)
    idle_j = {"chip": idle_power_w(c, s, chips, 0.0) / tokens_per_s, "node": idle / tokens_per_s}
    idle_j["facility"] = s.pue * idle_j["node"]
    energy = {k: full[k] - (1.0 - busy) * (base[k] - idle_j[k]) for k in full}
    power = energy["node"] * tokens_per_s
    opex = cost.opex_usd_per_year(s, idle + s.utilization * (power - idle))
    capex = cost.capex_usd(c, s, chips, node_share)
    return idle, energy, power, capex, opex, cost.tco_usd(s, capex, opex)


def evaluate_disaggregated(prefill: Pool, decode: Pool, link: PoolLink, scenario: Scenario,
                           fidelity: Fidelity = EXACT) -> DisaggregatedMetrics:
    """Evaluate a prefill pool + decode pool + link design (see the module docstring for the
    formulas and assumptions). Pure; ``fidelity`` must be static.

    Raises:
        ConfigError: the pools store the KV cache in different formats (it is sent as is).
    """
    if prefill.workload.kv_dtype != decode.workload.kv_dtype:
        raise ConfigError(f"decode.workload.kv_dtype = {decode.workload.kv_dtype!r}; allowed: the prefill "
                          f"pool's {prefill.workload.kv_dtype!r} (the KV cache is sent as stored)")
    prefill, decode, link, sc = jax.tree.map(jnp.asarray, (prefill, decode, link, scenario))
    fid, n_out = fidelity, sc.output_tokens
    mp, md, w, wd = prefill.mapping, decode.mapping, prefill.workload, decode.workload

    # Prefill pool: TTFT and busiest-stage occupancy per prompt; memory holds the KV of the
    # prompts only (no output tokens).
    ttft_p, occupancy, _ = prefill_time(fid, prefill.chip, prefill.system, w, mp, sc)
    mem_p = memory_use(fid, prefill.chip, w, mp, spec_replace(sc, output_tokens=jnp.zeros_like(n_out)))
    rate_p = mp.dp / occupancy
    # Decode pool: the decode step at its batch; no prefill chunk in its working set.
    decode_s, _ = decode_time(fid, decode.chip, decode.system, wd, md, sc)
    mem_d = memory_use(fid, decode.chip, wd, md, spec_replace(sc, prefill_chunk_tokens=jnp.ones_like(n_out)))
    rate_d = md.dp * md.batch / (n_out * decode_s)

    # Link: one request's KV over the smaller replica's NICs; aggregate over the smaller pool.
    kv_req = sc.prompt_tokens * kv_bytes_per_token(w)
    transfer = link.latency_s + kv_req / (link.bw_bytes_per_s * smin(fid, mp.tp * mp.pp, md.tp * md.pp))
    rate_link = link.bw_bytes_per_s * smin(fid, mp.chips, md.chips) / kv_req

    rate = smin(fid, rate_p, rate_d, rate_link)
    tokens_per_s = rate * n_out
    ttft = ttft_p + transfer

    # Dynamic energy per system output token of each pool's work, at its operating point.
    prefill_dyn = dynamic_j(fid, prefill.chip, w, mp, sc.prompt_tokens, 1.0, 0.5 * sc.prompt_tokens)
    mb = microbatches(fid, md)
    b = md.batch / mb
    decode_dyn = mb * dynamic_j(fid, decode.chip, wd, md, b, b, sc.prompt_tokens + 0.5 * n_out)
    busy_p, busy_d = jnp.minimum(rate / rate_p, 1.0), jnp.minimum(rate / rate_d, 1.0)
    idle_p, e_p, power_p, capex_p, opex_p, tco_p = _pool_costs(prefill, prefill_dyn / n_out, tokens_per_s, busy_p)
    idle_d, e_d, power_d, capex_d, opex_d, tco_d = _pool_costs(decode, decode_dyn / md.batch, tokens_per_s, busy_d)
    link_j_per_token = kv_req * link.pj_per_byte * 1e-12 / n_out
    link_power = link_j_per_token * tokens_per_s
    power = power_p + power_d + link_power
    tco, capex = tco_p + tco_d, capex_p + capex_d
    usd_p = cost.usd_per_million_tokens(prefill.system, tco_p, tokens_per_s)
    usd_d = cost.usd_per_million_tokens(decode.system, tco_d, tokens_per_s)

    def share(pool, mem, rate_pool, busy, idle, e, pw, capex_pool, opex, tco_pool, usd) -> PoolShare:
        m, chips = pool.mapping, pool.mapping.chips
        return PoolShare(
            chips=chips, nodes=sceil(fid, chips / pool.system.chips_per_node), replicas=m.dp, batch=m.batch,
            fits=mem.fits, memory_per_chip_bytes=mem.total_bytes, memory_capacity_bytes=mem.capacity_bytes,
            weight_bytes_per_chip=mem.weight_bytes, kv_bytes_per_chip=mem.kv_bytes, act_bytes_per_chip=mem.act_bytes,
            requests_per_s_capacity=rate_pool, busy_fraction=busy, power_w=pw,
            idle_power_w=idle, power_share=pw / power, joules_per_token=e["node"],
            chip_power_w=e["chip"] * tokens_per_s / chips, chip_price_usd=cost.chip_price_usd(pool.chip),
            capex_usd=capex_pool, opex_usd_per_year=opex, tco_usd=tco_pool, cost_share=tco_pool / tco,
            capex_share=capex_pool / capex, usd_per_million_tokens=usd)

    # The link's energy is outside the accelerators (NICs): node boundary and up, at the
    # prefill side's PUE.
    e = {"chip": e_p["chip"] + e_d["chip"], "node": e_p["node"] + e_d["node"] + link_j_per_token,
         "facility": e_p["facility"] + e_d["facility"] + prefill.system.pue * link_j_per_token}
    return DisaggregatedMetrics(
        ttft_s=ttft, prefill_s=ttft_p, transfer_s=transfer, decode_s_per_token=decode_s,
        decode_tokens_per_s_per_user=1.0 / decode_s, latency_s=ttft + (n_out - 1.0) * decode_s,
        requests_per_s=rate, throughput_tokens_per_s=tokens_per_s,
        balanced_prefill_replicas=rate_d * occupancy,
        chips=mp.chips + md.chips, fits=mem_p.fits * mem_d.fits, power_w=power, idle_power_w=idle_p + idle_d,
        joules_per_token=e["node"], joules_per_token_chip=e["chip"], joules_per_token_node=e["node"],
        joules_per_token_facility=e["facility"], capex_usd=capex, opex_usd_per_year=opex_p + opex_d,
        tco_usd=tco, usd_per_million_tokens=usd_p + usd_d,
        prefill=share(prefill, mem_p, rate_p, busy_p, idle_p, e_p, power_p, capex_p, opex_p, tco_p, usd_p),
        decode=share(decode, mem_d, rate_d, busy_d, idle_d, e_d, power_d, capex_d, opex_d, tco_d, usd_d),
        link=LinkUse(bytes_per_request=kv_req, transfer_s=transfer, requests_per_s_capacity=rate_link,
                     busy_fraction=jnp.minimum(rate / rate_link, 1.0), power_w=link_power,
                     power_share=link_power / power),
    )


#: Compiled :func:`evaluate_disaggregated`; recompiles only for a new static structure.
evaluate_disaggregated_jit = jax.jit(evaluate_disaggregated, static_argnames="fidelity")

__all__ = ["DisaggregatedMetrics", "LinkUse", "Pool", "PoolLink", "PoolShare", "evaluate_disaggregated",
           "evaluate_disaggregated_jit"]
