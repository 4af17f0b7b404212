"""Predict every case in one compiled call.

Cases that share a static structure (hardware preset, dtypes, serving mode, metric) are
stacked along a leading axis and evaluated with ``jax.vmap``, so the compiled program grows
with the number of distinct structures, not with the number of rows. An optional
``transform(chip, system, theta_row) -> (chip, system)`` applies per-family parameters
(``theta[family[i]]`` for case i); calibration uses it, validation runs without it.

An energy row is predicted at the boundary it was measured at (:func:`boundary`, the entry's
``boundary`` key): chip (accelerators only, e.g. NVML), node (with the hosts) or facility
(x PUE), i.e. the Metrics field ``joules_per_token_<boundary>``.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..model import serving
from ..model.evaluate import anonymous
from ..model.energy import BOUNDARIES
from .mapping import DEFAULT_BOUNDARY, Case


#: Metrics read from the operating point itself rather than from its ``metrics``.
_POINT_FIELDS = ("tokens_per_s_per_user",)


@dataclasses.dataclass(frozen=True, eq=False)
class _Group:
    mode: str
    with_prefill: bool
    metric: str
    index: np.ndarray  # positions of these cases in the input list
    specs: tuple  # (chip, system, workload, mapping, scenario), leaves stacked on axis 0
    bound: np.ndarray  # TPOT bound per case (server mode)
    family: np.ndarray  # family index per case


def _point(mode, with_prefill, chip, system, w, m, sc, bound):
    if mode == "offline":
        return serving.offline(chip, system, w, m, sc)
    if mode == "server":
        return serving.server(chip, system, w, m, sc, bound, with_prefill=with_prefill)
    return serving.at_concurrency(chip, system, w, m, sc, m.batch)




def boundary(case: Case) -> str:
    """Energy boundary of a case: its mapping entry's ``boundary`` (default
    :data:`~codesign.validation.mapping.DEFAULT_BOUNDARY`); "" for a metric that is not an energy.

    Raises:
        ConfigError: the boundary is not one of :data:`codesign.model.energy.BOUNDARIES`
            (a Case built by hand; :func:`~codesign.validation.build_cases` refuses it first).
    """
    if case.metric != "joules_per_token":
        return ""
    name = case.boundary or DEFAULT_BOUNDARY
    if name not in BOUNDARIES:
        raise ConfigError(f"{case.row.where}: {case.row.id}: boundary = {name!r}; allowed: {', '.join(BOUNDARIES)}")
    return name


def predicted_metric(case: Case) -> str:
    """The Metrics field a case predicts: its metric, an energy at its :func:`boundary`."""
    b = boundary(case)
    return f"joules_per_token_{b}" if b else case.metric


def _groups(cases: list[Case], family: np.ndarray) -> list[_Group]:
    keyed = {}
    specs_of = [anonymous(c.design.specs) for c in cases]
    for i, c in enumerate(cases):
        key = (jax.tree.structure(specs_of[i]), c.mode, c.with_prefill, predicted_metric(c))
        keyed.setdefault(key, []).append(i)
    groups = []
    for (_, mode, with_prefill, metric), idx in keyed.items():
        specs = jax.tree.map(lambda *xs: np.stack([np.asarray(x, np.float32) for x in xs]),
                             *[specs_of[i] for i in idx])
        groups.append(_Group(mode, with_prefill, metric, np.array(idx), specs,
                             np.array([cases[i].tpot_bound_s for i in idx], np.float32), family[idx]))
    return groups


def make_predictor(cases: list[Case], family: np.ndarray | None = None, transform=None):
    """``predict(theta=None) -> {"value", "batch", "feasible"}``: arrays in case order.

    Args:
        family: int index per case into the rows of ``theta`` (default: all zero).
        transform: ``(chip, system, theta_row) -> (chip, system)``, applied when ``theta`` is
            given (shape ``(n_families, n_params)``).
    """
    family = np.zeros(len(cases), int) if family is None else np.asarray(family, int)
    groups = _groups(cases, family)
    order = np.argsort(np.concatenate([g.index for g in groups])) if groups else np.array([], int)

    def predict(theta=None):
        theta = None if theta is None else jnp.asarray(theta)
        parts = {"value": [], "batch": [], "feasible": []}
        for g in groups:
            def one(specs, bound, fam, g=g):
                chip, system, w, m, sc = specs
                if theta is not None and transform is not None:
                    chip, system = transform(chip, system, theta[fam])
                op = _point(g.mode, g.with_prefill, chip, system, w, m, sc, bound)
                value = getattr(op if g.metric in _POINT_FIELDS else op.metrics, g.metric)
                return value, op.batch, op.feasible

            v, b, f = jax.vmap(one)(g.specs, g.bound, g.family)
            parts["value"].append(v)
            parts["batch"].append(b)
            parts["feasible"].append(f)
        return {k: jnp.concatenate(v)[order] if v else jnp.zeros(0) for k, v in parts.items()}

    return predict


def predict_cases(cases: list[Case]) -> dict:
    """Predictions of the cases with their own (preset or calibrated) hardware, as numpy."""
    if not cases:
        return {"value": np.zeros(0), "batch": np.zeros(0), "feasible": np.zeros(0)}
    out = jax.jit(make_predictor(cases))()
    return {k: np.asarray(v, float) for k, v in out.items()}
