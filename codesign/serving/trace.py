"""What a simulation returns: per-request timestamps, per-iteration series, accumulators."""
import jax
import jax.numpy as jnp
import numpy as np

from ..specs._pytree import pytree_dataclass

#: Inter-token latency histogram: ITL_BINS log-spaced bins from ITL_LO_S to ITL_HI_S
#: (ratio 1.04 per bin); values outside land in the first or last bin.
ITL_LO_S, ITL_HI_S, ITL_BINS = 1e-6, 1e3, 512


def itl_bin(gap_s):
    """Histogram bin of an inter-token gap (s)."""
    x = (jnp.log(jnp.maximum(gap_s, ITL_LO_S)) - np.log(ITL_LO_S)) / (np.log(ITL_HI_S / ITL_LO_S) / ITL_BINS)
    return jnp.clip(jnp.floor(x), 0, ITL_BINS - 1).astype(jnp.int32)


def itl_edges_s() -> np.ndarray:
    """The ITL_BINS + 1 bin edges (s)."""
    return np.geomspace(ITL_LO_S, ITL_HI_S, ITL_BINS + 1)


@pytree_dataclass
class Iterations:
    """Per record (arrays of shape [I]): a scheduler iteration, or a run of ``steps``
    consecutive pure-decode iterations merged into one record (their total duration,
    tokens and energy; the batch of the first, the pages of the last). Entries with
    ``active`` = 0 are padding. ``time_s`` is the record's end."""

    time_s: jax.Array
    duration_s: jax.Array
    batch: jax.Array  # sequences that ran (prefill chunks + decodes)
    prefill_tokens: jax.Array
    decode_tokens: jax.Array
    kv_used_pages: jax.Array  # pages held while the iteration ran
    energy_j: jax.Array  # dynamic energy of the accelerators
    active: jax.Array
    steps: jax.Array  # scheduler iterations in the record


@pytree_dataclass
class Trace:
    """One simulation. Per request (shape [N], the requests' own order): ``admitted_s``
    (first admission), ``first_token_s``, ``finish_s`` (inf when it did not happen),
    ``preemptions``, ``tokens`` (output tokens generated), ``never_fit`` (1.0 when prompt +
    output cannot fit in the whole KV capacity: never admitted). Totals: ``kv_pages``
    (capacity), ``iterations_run``, ``exhausted`` (1.0 when ``max_iterations`` ran out with
    work left), ``never_fit_count``, ``busy_s``, ``kv_page_s`` (pages x seconds held),
    ``kv_peak_pages``, ``energy_dynamic_j``, ``static_power_chip_w`` / ``_node_w`` (idle
    power at the chip and node boundary, of all replicas simulated), the ITL histogram
    (``itl_hist`` over :func:`itl_edges_s`, ``itl_sum_s``, ``itl_count``), and the
    per-iteration ``iterations`` (decode pool for a disaggregated run, with
    ``prefill_iterations`` for its prefill pool; None when not recorded)."""

    admitted_s: jax.Array
    first_token_s: jax.Array
    finish_s: jax.Array
    preemptions: jax.Array
    tokens: jax.Array
    never_fit: jax.Array
    kv_pages: jax.Array
    iterations_run: jax.Array
    exhausted: jax.Array
    never_fit_count: jax.Array
    busy_s: jax.Array
    kv_page_s: jax.Array
    kv_peak_pages: jax.Array
    energy_dynamic_j: jax.Array
    static_power_chip_w: jax.Array
    static_power_node_w: jax.Array
    itl_hist: jax.Array
    itl_sum_s: jax.Array
    itl_count: jax.Array
    iterations: Iterations | None = None
    prefill_iterations: Iterations | None = None

    @property
    def completed(self):
        """1.0 for requests that finished."""
        return jnp.where(jnp.isfinite(self.finish_s), 1.0, 0.0)


__all__ = ["ITL_BINS", "ITL_HI_S", "ITL_LO_S", "Iterations", "Trace", "itl_bin", "itl_edges_s"]
