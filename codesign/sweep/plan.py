"""A sweep plan: problem x settings -> enumeration, reductions, shards and the work left.

    plan = make_plan(cfg, catalog=CATALOG)      # a config with a ``sweep:`` block; names via config.CATALOG
    red = sweep(plan)                           # every chunk on every local device
    red = sweep(plan, shard=(3, 8), done=[...]) # one independent shard, skipping done ranges
"""
import dataclasses

import jax

from ..design import Catalog
from ..errors import ConfigError
from ..model import METRIC_NAMES
from ..objectives import Problem, parse_problem
from . import reductions as R
from .enumerate import MAX_POINTS, Enumeration, covered, overlap, shard_chunks
from .kernel import AXIS, ReduceSpec, make_spec
from .runner import run_chunks
from .settings import SweepSettings, parse_settings


@dataclasses.dataclass(frozen=True, eq=False)
class SweepPlan:
    problem: Problem
    settings: SweepSettings
    enum: Enumeration
    spec: ReduceSpec

    @property
    def chunk(self) -> int:
        return self.settings.chunk

    def shard(self, i: int = 0, n: int = 1) -> range:
        """Chunk ids of independent shard ``i`` of ``n`` (0-based)."""
        if not (isinstance(n, int) and n >= 1 and isinstance(i, int) and 0 <= i < n):
            raise ConfigError(f"shard = ({i}, {n}); allowed: (i, n) with n >= 1 and 0 <= i < n (0-based)")
        return shard_chunks(self.enum.num_chunks(self.chunk), i, n)

    def index_range(self, ids: range) -> tuple[int, int]:
        """[start, stop) flat indices covered by consecutive chunk ids."""
        if len(ids) == 0:
            return (0, 0)
        return self.enum.chunk(ids[0], self.chunk).start, self.enum.chunk(ids[-1], self.chunk).stop

    def points(self, ids: range) -> int:
        a, b = self.index_range(ids)
        return b - a  # chunks are contiguous in flat index across variants

    def todo(self, ids: range, done: list):
        """Chunks of ``ids`` not covered by the ``done`` ranges, lazily."""
        for k in ids:
            c = self.enum.chunk(k, self.chunk)
            if not covered(done, c.start, c.stop):
                yield c

    def empty(self) -> R.Reductions:
        return R.empty(self.spec, len(METRIC_NAMES))


def make_plan(cfg: dict, overrides: dict | None = None, catalog: Catalog | None = None) -> SweepPlan:
    """Validate an experiment config (problem keys + ``sweep:``); ``overrides`` replace keys of
    the ``sweep:`` block (e.g. from CLI flags); ``catalog`` looks up preset names
    (``codesign.config.CATALOG``; see :func:`codesign.objectives.parse_problem`)."""
    if not isinstance(cfg, dict):
        raise ConfigError("config: expected a mapping of key: value")
    problem = parse_problem(cfg, extra_keys=("sweep",), catalog=catalog)
    block = cfg.get("sweep") or {}
    if not isinstance(block, dict):
        raise ConfigError(f"sweep: expected a mapping, got {block!r}")
    block = {**block, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    settings = parse_settings(block, problem.pareto)
    enum = Enumeration(problem.space, settings.mode, settings.samples, settings.seed)
    if enum.total == 0:
        raise ConfigError("the design space is empty: no point to sweep")
    if enum.total > MAX_POINTS:
        raise ConfigError(f"the design space has {enum.total:.3g} points; a sweep indexes at most 2**62")
    return SweepPlan(problem, settings, enum, make_spec(problem, settings))


def local_mesh():
    """A 1-D mesh over every device of every process (axis ``"d"``)."""
    return jax.make_mesh((jax.device_count(),), (AXIS,))


def sweep(plan: SweepPlan, *, shard=(0, 1), done=(), state=None, mesh=None, rows=False, on_chunk=None,
          progress=None) -> R.Reductions:
    """Run the chunks of ``shard`` not in ``done``, folding them into ``state``."""
    ids = plan.shard(*shard)
    done = [list(r) for r in done]
    a, b = plan.index_range(ids)
    return run_chunks(plan.problem, plan.enum, plan.spec, plan.todo(ids, done),
                      state if state is not None else plan.empty(), mesh=mesh or local_mesh(), chunk=plan.chunk,
                      done_points=overlap(done, a, b), total_points=b - a, rows=rows, on_chunk=on_chunk,
                      progress=progress)
