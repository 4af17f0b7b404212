"""Pareto fronts of an experiment's ``pareto:`` metrics: the rows, the summary and (where
asked) the files ``codesign pareto`` writes (CSV, Parquet, PNG, summary.json)."""
import os
import time
from typing import NamedTuple

import numpy as np

from ..config.writing import atomic_path, write_json
from ..errors import ConfigError
from ..model import METRIC_NAMES
from ..objectives import Problem
from ..search.methods import make_hyper
from ..search.pareto import Front, front
from ._config import resolve
from ._relay import Relay, from_search
from .references import evaluate_references
from .settings import parse_experiment_problem, search_settings


class ParetoRun(NamedTuple):
    summary: dict  # what summary.json holds
    rows: list  # one dict per non-dominated design (see front_rows)
    front: Front
    problem: Problem


def search_front(problem: Problem, settings: dict, progress=None) -> Front:
    """The gradient front search of ``settings`` (from :func:`search_settings`): ``points``
    scalarisations, ``budget`` evaluations, 4 starts unless ``search.gradient`` says otherwise."""
    if settings["method"] != "gradient":
        raise ConfigError(f"pareto: search.method = {settings['method']!r}; the front search uses: gradient")
    hyper = make_hyper("gradient", **{"starts": 4, **settings["hyper"]})
    relay = Relay(progress, lambda p: from_search(p, task="pareto")._replace(best=float("nan")))
    fr = front(problem, points=settings["points"], budget=settings["budget"], seed=settings["seed"], hyper=hyper,
               progress=relay if progress is not None else None)
    relay.finish(task="pareto", done=fr.evals)
    return fr


def front_rows(problem: Problem, fr: Front) -> list[dict]:
    """One flat row per front design: ``variant.<key>``, ``on_joint_front``, every variable, ``metric.<name>``."""
    rows = []
    for v, x, m, o in zip(fr.variant, fr.x, fr.all_metrics, fr.overall):
        row = {f"variant.{k}": str(val) for k, val in problem.space.variants[int(v)].label.items()}
        row["on_joint_front"] = bool(o)
        row.update({n: float(xi) for n, xi in zip(problem.space.names, x)})
        row.update({f"metric.{k}": float(m[i]) for i, k in enumerate(METRIC_NAMES)})
        rows.append(row)
    return rows


def write_table(rows: list[dict], out_dir, stem: str = "front"):
    """``rows`` as ``out_dir/<stem>.parquet`` and ``out_dir/<stem>.csv``."""
    import pyarrow as pa  # noqa: PLC0415 (only when writing)
    import pyarrow.csv as pcsv  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415
    out_dir = os.fspath(out_dir)
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    try:
        with atomic_path(os.path.join(out_dir, f"{stem}.parquet")) as tmp:
            pq.write_table(table, tmp)
        with atomic_path(os.path.join(out_dir, f"{stem}.csv")) as tmp:
            pcsv.write_csv(table, tmp)
    except OSError as e:
        raise ConfigError(f"cannot write to {out_dir!r}: {e}") from None


def make_dir(out_dir, argument: str = "out_dir"):
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{argument} = {os.fspath(out_dir)!r}: cannot create directory: {e}") from None


def run_pareto(cfg, out_dir=None, points: int | None = None, budget: int | None = None, seed: int | None = None,
               progress=None, name: str | None = None) -> ParetoRun:
    """Search the front of the config's ``pareto:`` metrics (2 or 3) with the gradient searcher.

    Args:
        cfg: experiment config mapping, or the path of its YAML file.
        out_dir: where to write front.csv, front.parquet, front.png (reference designs of
            ``compare:`` marked) and summary.json; None writes nothing.
        points, budget, seed: override the ``search:`` block.
        progress: called with :class:`codesign.progress.Progress`, fraction ending at 1.
        name: the ``config`` entry of the summary (default: the path, or None).

    Raises:
        ConfigError: bad config or arguments, or no feasible design found.
    """
    t0 = time.perf_counter()
    cfg, name = resolve(cfg, name)
    problem = parse_experiment_problem(cfg)
    if not 2 <= len(problem.pareto) <= 3:
        raise ConfigError(f"pareto: needs 2 or 3 metrics in the config (e.g. pareto: [usd_per_million_tokens, "
                          f"decode_tokens_per_s_per_user]); got {list(problem.pareto)}")
    st = search_settings(cfg, {"points": points, "budget": budget, "seed": seed})
    refs = evaluate_references(cfg, model=cfg.get("model"))
    if out_dir is not None:
        make_dir(out_dir)
    fr = search_front(problem, st, progress)
    if not len(fr.values):
        raise ConfigError(f"infeasible: no feasible design found in {fr.evals:,} evaluations; "
                          "run `codesign optimize` on the same config for the closest design")
    rows = front_rows(problem, fr)
    files = {}
    if out_dir is not None:
        out_dir = os.fspath(out_dir)
        write_table(rows, out_dir)
        files = {k: os.path.join(out_dir, f"front.{k}") for k in ("csv", "parquet", "png")}
        _plot(problem, fr, refs, files["png"], cfg.get("title") or os.path.basename(name or "pareto"))
    summary = {"config": name, "metrics": list(fr.metrics), "points": len(rows),
               "joint_front_points": int(fr.overall.sum()), "hypervolume": fr.hypervolume,
               "hypervolume_space": "f_i = s_i ln(metric_i), s = +1 to minimise, -1 to maximise",
               "hypervolume_ref": fr.ref.tolist(), "evaluations": fr.evals, "pooled_feasible_designs": fr.pool_size,
               "wall_s": fr.wall_s, "total_wall_s": time.perf_counter() - t0, "files": files,
               "references": [{"label": r["label"], "points": [
                   {m: p["metrics"][m] for m in fr.metrics} | {"batch": p["metrics"]["batch"], "chips": p["chips"]}
                   for p in r["points"]]} for r in refs]}
    if out_dir is not None:
        write_json(os.path.join(out_dir, "summary.json"), summary)
    return ParetoRun(summary, rows, fr, problem)


def _plot(problem, fr, refs, path, title):
    from ..plots import plot_fronts  # noqa: PLC0415 (matplotlib only when plotting)
    xm, ym = fr.metrics[0], fr.metrics[1]
    fronts = []
    labels = [problem.space.variants[int(v)].label for v in fr.variant]
    keys = sorted({tuple(sorted(lb.items())) for lb in labels})
    for key in keys:
        sel = np.array([tuple(sorted(lb.items())) == key for lb in labels])
        label = ", ".join(str(v) for _, v in key) or "designs"
        c = fr.values[sel, 2] if len(fr.metrics) == 3 else None
        fronts.append((label, fr.values[sel][:, :2], c))
    ref_pts = [(r["label"], [(p["metrics"][xm], p["metrics"][ym]) for p in r["points"]]) for r in refs]
    plot_fronts(fronts, path, xm, ym, ref_pts, title, fr.metrics[2] if len(fr.metrics) == 3 else None)
