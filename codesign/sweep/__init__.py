"""Layer 6: sweeps — the same compiled evaluation over millions to billions of designs.

    plan = cd.sweep.make_plan(cfg, catalog=cd.config.CATALOG)  # problem config + ``sweep:`` block
    red = cd.sweep.sweep(plan)         # on-device reductions: counts, histograms, top-k, front
    cd.sweep.summarize(plan.enum, plan.spec, red, target_points=..., done_points=...)

Flat indices are decoded into designs on the device (:mod:`.enumerate`); each chunk is
sharded over a mesh of all devices (:mod:`.kernel`); reductions merge exactly in any order
(:mod:`.reductions`), which makes sharding, multi-host runs and resuming give identical
results. File I/O lives in :mod:`.store`, plots in :mod:`.plot`.
"""
from .enumerate import Chunk, Enumeration
from .histogram import Bins
from .kernel import ReduceSpec
from .plan import SweepPlan, local_mesh, make_plan, sweep
from .reductions import Records, Reductions, merge
from .runner import ChunkRows, Progress, run_chunks
from .settings import SWEEP_KEYS, SweepSettings, parse_settings
from .summary import summarize

__all__ = ["Bins", "Chunk", "ChunkRows", "Enumeration", "Progress", "Records", "ReduceSpec", "Reductions",
           "SWEEP_KEYS", "SweepPlan", "SweepSettings", "local_mesh", "make_plan", "merge", "parse_settings",
           "run_chunks", "summarize", "sweep"]
