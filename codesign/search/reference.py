"""A fine exhaustive reference around given designs: every allowed integer value near them
times a fine grid of the continuous variables, for judging a searcher's answer.

A coarse grid's optimum says little about a search whose integers and continuous values are
not confined to grid points; the reference here contains (up to the continuous step) every
value a searcher may take near the designs it is built around: per integer variable, every
allowed value within ``int_window`` (a ratio for log-scaled variables, +- steps otherwise);
per continuous variable, ``fine`` points over the designs' range widened by ``margin``
(geometric where the codec is log-scaled; the bounds included where reached). Every static
variant is enumerated.
"""
import dataclasses

import numpy as np

from ..objectives import Problem
from ..space import DesignSpace, Variable
from ..space.codec import make_codec


def local_axes(problem: Problem, designs, int_steps: int = 4, int_ratio: float = 1.15, fine: int = 128,
               margin: float = 0.1) -> list[np.ndarray]:
    """Per variable, the sorted values of the reference grid around ``designs`` (rows of x)."""
    codec = make_codec(problem.space)
    xs = np.atleast_2d(np.asarray(designs, float))
    axes = []
    for i, v in enumerate(problem.space.variables):
        col = xs[:, i]
        if codec.integer[i]:
            allowed = (np.asarray(codec.choices[i]) if codec.choices[i] is not None
                       else np.arange(codec.low[i], codec.high[i] + 1))
            near = np.zeros(len(allowed), bool)
            for c in col:
                near |= np.abs(allowed - c) <= int_steps
                if codec.log[i]:
                    near |= (allowed >= c / int_ratio) & (allowed <= c * int_ratio)
            if codec.choices[i] is not None and len(allowed) <= 16:  # a short list: take it all
                near[:] = True
            axes.append(allowed[near].astype(float))
            continue
        lo = max(codec.low[i], col.min() * (1 - margin)) if codec.log[i] else max(
            codec.low[i], col.min() - margin * (codec.high[i] - codec.low[i]))
        hi = min(codec.high[i], col.max() * (1 + margin)) if codec.log[i] else min(
            codec.high[i], col.max() + margin * (codec.high[i] - codec.low[i]))
        axes.append(np.unique(np.concatenate([(np.geomspace if codec.log[i] else np.linspace)(lo, hi, fine), col])))
    return axes


def local_problem(problem: Problem, designs, **kwargs) -> Problem:
    """``problem`` over the reference grid of :func:`local_axes` (same variants, objective
    and constraints): run the ``grid`` searcher on it."""
    axes = local_axes(problem, designs, **kwargs)
    variables = tuple(Variable(v.path, "integer", choices=tuple(float(a) for a in ax))
                      for v, ax in zip(problem.space.variables, axes))
    return dataclasses.replace(problem, space=DesignSpace(problem.space.variants, variables))
