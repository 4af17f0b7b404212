r"""A pool: the cost-model specs of the replicas that serve, and their KV capacity.

KV capacity comes from the memory model (``model.memory.memory_use``): per chip, the weight
tier (SRAM on an SRAM-only chip, HBM otherwise) minus the weights and the activations of
the largest iteration (``max_slots`` decode tokens or a ``token_budget`` prefill chunk),
divided by the KV bytes one token takes on that chip:

.. math:: C_\mathrm{KV} = \Big\lfloor \frac{M - W - A}{b_\mathrm{KV}\, L_\mathrm{stage} / (L\, s_\mathrm{KV})} \Big\rfloor
          \ \text{tokens}, \qquad \text{pages} = \lfloor C_\mathrm{KV} / \text{page\_tokens} \rfloor .

Every chip of a replica holds its shard of every sequence, so this is the replica's
capacity in tokens. Zero or less means not one token fits (reported by the simulator).
"""
import jax.numpy as jnp

from ..model.memory import kv_shards, memory_use, stage_layers
from ..model.smooth import EXACT
from ..specs import Chip, Mapping, Scenario, System, Workload
from ..specs import replace as spec_replace
from ..specs._pytree import pytree_dataclass
from ..workload import kv_bytes_per_token
from .policy import Policy


@pytree_dataclass
class Pool:
    """One replica's hardware and mapping (``mapping.dp`` is ignored: a fleet has its own
    replica count) and its KV capacity in tokens. Every leaf may be vmapped over designs."""

    chip: Chip
    system: System
    workload: Workload
    mapping: Mapping
    kv_capacity_tokens: float

    @property
    def chips(self):
        """Chips of one replica: tp x pp."""
        return self.mapping.tp * self.mapping.pp

    def kv_bytes(self, tokens):
        """KV-cache bytes of ``tokens`` tokens over the whole replica (all layers, all shards)."""
        return tokens * kv_bytes_per_token(self.workload)


def kv_capacity_tokens(chip: Chip, workload: Workload, mapping: Mapping, policy: Policy):
    """Tokens of KV cache one replica holds beside its weights and the activations of its
    largest iteration (may be <= 0: nothing fits)."""
    budget = float(policy.token_budget)
    m = spec_replace(mapping, batch=jnp.asarray(float(policy.max_slots)))
    sc = Scenario(prompt_tokens=budget, output_tokens=1.0, prefill_chunk_tokens=budget)
    mem = memory_use(EXACT, chip, workload, m, sc)
    per_token = kv_bytes_per_token(workload) / workload.layers * stage_layers(EXACT, chip, workload, m.pp) \
        / kv_shards(EXACT, workload, m.tp)
    free = mem.capacity_bytes - mem.weight_bytes - mem.act_bytes
    return jnp.maximum(jnp.floor(free / per_token), 0.0)


def make_pool(chip: Chip, system: System, workload: Workload, mapping: Mapping, policy: Policy,
              kv_capacity=None) -> Pool:
    """A pool with the KV capacity of :func:`kv_capacity_tokens` (or ``kv_capacity`` tokens
    when given, e.g. to study a smaller cache)."""
    cap = kv_capacity_tokens(chip, workload, mapping, policy) if kv_capacity is None else kv_capacity
    return Pool(chip=chip, system=system, workload=workload, mapping=mapping,
                kv_capacity_tokens=jnp.asarray(cap, jnp.result_type(float)))


__all__ = ["Pool", "kv_capacity_tokens", "make_pool"]
