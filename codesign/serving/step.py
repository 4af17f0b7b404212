r"""The one adapter between the simulator and the cost model: the duration and dynamic
energy of one scheduler iteration, from its mix of tokens.

An iteration carries ``tokens`` new tokens (prefill chunks plus one per decoding sequence)
of ``seqs`` sequences whose attention reads ``context`` cached tokens each on average
(a decode token attends to its whole KV cache; a prefill chunk from position d of c tokens
attends to d + c/2 on average, causal). As in ``model.timing.decode_time``, the batch
forms m = min(seqs, pp) micro-batches, and

.. math:: t = \max\big(t_\mathrm{traverse}(T/m),\; t_\mathrm{stage}(m)\big) + t_\mathrm{host},
          \qquad E = m\, E_\mathrm{dyn}(T/m),

so a pure decode iteration of B sequences takes exactly the closed form's
``decode_s_per_token`` at that context, and a single prompt its ``ttft_s``. The mean context
makes the KV bytes read exact; attention FLOPs of a mixed iteration use the same mean (a
small term next to the projections). Only this module calls the timing model: when the
execution model changes, only this adapter changes.
"""
import jax.numpy as jnp

from ..model import timing
from ..model.energy import dynamic_j
from ..model.memory import stage_layers
from ..model.smooth import EXACT


def _stage_cycle_s(pool, st, mb):
    """The busiest stage's time for ``mb`` micro-batches (the timing model's own rule when it
    has one: overlapped micro-batches on dataflow chips)."""
    if hasattr(timing, "stage_cycle_s"):
        return timing.stage_cycle_s(EXACT, pool.chip, pool.workload, pool.mapping, st, mb)
    return mb * stage_layers(EXACT, pool.chip, pool.workload, pool.mapping.pp) * st.layer_s


def _host_s(pool, seqs):
    """Serving-engine host time of one step, where the timing model has one."""
    return timing.host_step_s(pool.system, seqs) if hasattr(timing, "host_step_s") else 0.0 * seqs


def step_cost(pool, tokens, seqs, context):
    """(seconds, dynamic joules) of one iteration of one replica of ``pool``; (0, 0) when
    ``seqs`` is 0. Works on floats or arrays (jit/vmap-safe)."""
    m = pool.mapping
    busy = seqs > 0
    mb = jnp.maximum(jnp.minimum(seqs, m.pp), 1.0)
    tok = jnp.maximum(tokens, 1.0) / mb
    sq = jnp.maximum(seqs, 1.0) / mb
    st = timing.step_time(EXACT, pool.chip, pool.system, pool.workload, m, tok, sq, context)
    t = jnp.maximum(st.traverse_s, _stage_cycle_s(pool, st, mb)) + _host_s(pool, jnp.maximum(seqs, 1.0))
    e = mb * dynamic_j(EXACT, pool.chip, pool.workload, m, tok, sq, context)
    return jnp.where(busy, t, 0.0), jnp.where(busy, e, 0.0)


__all__ = ["step_cost"]
