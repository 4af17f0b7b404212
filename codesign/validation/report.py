"""Errors of predictions against measurements, and their summaries.

Error of one row: e = predicted / measured - 1 (signed); absolute percentage error
APE = |e|. Summaries give, per group (system or metric class), the number of rows, the
median and the maximum APE.
"""
import dataclasses

import numpy as np

from .mapping import Case
from .predict import boundary, predicted_metric


@dataclasses.dataclass(frozen=True)
class Result:
    id: str
    hardware: str
    kind: str  # metric class
    metric: str  # Metrics field predicted
    boundary: str  # energy boundary compared at (chip | node | facility); "" for other metrics
    mode: str
    measured: float
    predicted: float
    batch: float  # batch the prediction was made at
    feasible: bool  # the design fits (and meets the TPOT bound in server mode)
    error: float  # predicted / measured - 1
    caveat: str
    where: str  # file:line of the row

    @property
    def ape(self) -> float:
        return abs(self.error)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"ape": self.ape}


def results(cases: list[Case], predicted: dict) -> list[Result]:
    """One Result per case, from ``predict_cases`` output."""
    out = []
    for i, c in enumerate(cases):
        p = float(predicted["value"][i])
        out.append(Result(id=c.row.id, hardware=c.hardware, kind=c.kind, metric=predicted_metric(c),
                          boundary=boundary(c), mode=c.mode, measured=c.row.value, predicted=p,
                          batch=float(predicted["batch"][i]),
                          feasible=bool(predicted["feasible"][i] > 0),
                          error=p / c.row.value - 1.0, caveat=c.caveat, where=c.row.where))
    return out


def summarize(res: list[Result], by: str) -> list[dict]:
    """``[{by: group, "n", "median_ape", "max_ape"}]`` grouped by a Result attribute."""
    groups = {}
    for r in res:
        groups.setdefault(getattr(r, by), []).append(r.ape)
    return [{by: g, "n": len(a), "median_ape": float(np.median(a)), "max_ape": float(np.max(a))}
            for g, a in groups.items()]


def ape_summary(measured, predicted, kinds) -> dict:
    """``{kind: {"n", "median_ape", "max_ape"}}`` from arrays (used for fits and LOO)."""
    ape = np.abs(np.asarray(predicted, float) / np.asarray(measured, float) - 1.0)
    kinds = np.asarray(kinds)
    out = {}
    for k in dict.fromkeys(kinds.tolist()):
        a = ape[kinds == k]
        out[k] = {"n": int(a.size), "median_ape": float(np.median(a)), "max_ape": float(np.max(a))}
    return out
