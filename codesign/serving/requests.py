"""Request streams: arrivals (Poisson, gamma with a CV, or given arrays) and lengths.

A :class:`Requests` pytree has a fixed shape [N]: padding entries have ``valid`` = 0 and are
ignored by the simulator, so scenarios of different sizes share one compilation.

Gamma inter-arrival times with coefficient of variation ``cv`` have shape k = 1/cv^2 and
mean 1/rate (cv = 1 is Poisson; cv > 1 is burstier). Lognormal lengths with mean mu and
CV c have sigma^2 = ln(1 + c^2) and log-mean ln(mu) - sigma^2/2. Lengths are whole tokens
(rounded, at least 1), clipped to [lo, hi] when given.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..specs._pytree import pytree_dataclass

ARRIVALS = ("poisson", "gamma")
LENGTH_KINDS = ("fixed", "uniform", "lognormal")


@pytree_dataclass
class Requests:
    """N requests (float arrays of shape [N]); ``valid`` is 1.0 for a real request, 0.0 for
    padding. Order does not matter: the simulator serves them in arrival order."""

    arrival_s: jax.Array
    prompt_tokens: jax.Array
    output_tokens: jax.Array
    valid: jax.Array

    @property
    def n(self) -> int:
        """Capacity (the fixed shape N)."""
        return self.arrival_s.shape[-1]


def _concrete(x):
    """Python float of ``x`` when it is a concrete value, else None (inside jit/vmap)."""
    try:
        return float(x)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None


@dataclasses.dataclass(frozen=True)
class Lengths:
    """A distribution of token counts: ``kind`` in ``fixed`` | ``uniform`` | ``lognormal``.

    ``uniform`` draws integers in [lo, hi] (default mean +- sqrt(3) cv mean, the CV-matched
    range); ``lognormal`` has the given mean and CV, clipped to [lo, hi] when given.
    """

    kind: str = "fixed"
    mean: float = 128.0
    cv: float = 0.0
    lo: float | None = None
    hi: float | None = None

    def __post_init__(self):
        if self.kind not in LENGTH_KINDS:
            raise ConfigError(f"lengths kind {self.kind!r} is not allowed; allowed: {', '.join(LENGTH_KINDS)}")
        if not np.isfinite(self.mean) or self.mean < 1:
            raise ConfigError(f"lengths mean = {self.mean!r} tokens; must be a finite number >= 1")
        if not np.isfinite(self.cv) or self.cv < 0:
            raise ConfigError(f"lengths cv = {self.cv!r}; must be a finite number >= 0")
        for name in ("lo", "hi"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or v < 1):
                raise ConfigError(f"lengths {name} = {v!r} tokens; must be a finite number >= 1")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise ConfigError(f"lengths lo = {self.lo!r} > hi = {self.hi!r}; need lo <= hi")

    def bounds(self) -> tuple[float, float]:
        """(lowest, highest) token count a draw can take."""
        if self.kind == "fixed":
            v = float(round(self.mean))
            return v, v
        if self.kind == "uniform":
            half = np.sqrt(3.0) * self.cv * self.mean
            lo = self.lo if self.lo is not None else max(1.0, round(self.mean - half))
            hi = self.hi if self.hi is not None else max(lo, round(self.mean + half))
            return float(lo), float(hi)
        return float(self.lo or 1.0), float(self.hi or np.inf)

    def sample(self, key, n: int):
        """n draws (float array, whole tokens >= 1)."""
        if self.kind == "fixed":
            x = jnp.full((n,), self.mean)
        elif self.kind == "uniform":
            lo, hi = self.bounds()
            x = jnp.floor(jax.random.uniform(key, (n,), minval=lo, maxval=hi + 1.0))
        else:
            s2 = np.log1p(self.cv ** 2)
            x = jnp.exp(np.log(self.mean) - 0.5 * s2 + np.sqrt(s2) * jax.random.normal(key, (n,)))
        lo, hi = self.bounds()
        return jnp.clip(jnp.round(x), max(lo, 1.0), hi)


def make_requests(key, n: int, rate_per_s, arrival: str = "poisson", cv=1.0,
                  prompt: Lengths = Lengths("fixed", 512.0), output: Lengths = Lengths("fixed", 128.0)) -> Requests:
    """n requests arriving at ``rate_per_s`` (Poisson, or gamma inter-arrivals with CV
    ``cv``), the first at time 1/rate on average; pure in (key, rate, cv), so it vmaps over
    keys and rates. Raises ConfigError on a rate <= 0, a cv < 0 or an unknown arrival kind
    (checked when the values are concrete)."""
    if arrival not in ARRIVALS:
        raise ConfigError(f"arrival {arrival!r} is not allowed; allowed: {', '.join(ARRIVALS)}")
    if int(n) < 1:
        raise ConfigError(f"requests n = {n!r}; must be an integer >= 1")
    r = _concrete(rate_per_s)
    if r is not None and not (np.isfinite(r) and r > 0):
        raise ConfigError(f"rate_per_s = {r!r}; must be a finite number > 0 (requests per second)")
    c = _concrete(cv)
    if arrival == "gamma" and c is not None and not (np.isfinite(c) and c > 0):
        raise ConfigError(f"arrival cv = {c!r}; must be a finite number > 0 for gamma arrivals")
    ka, kp, ko = jax.random.split(key, 3)
    if arrival == "poisson":
        gaps = jax.random.exponential(ka, (n,))
    else:
        shape = 1.0 / jnp.asarray(cv) ** 2
        gaps = jax.random.gamma(ka, shape, (n,)) / shape
    arrival_s = jnp.cumsum(gaps) / rate_per_s
    return Requests(arrival_s=arrival_s, prompt_tokens=prompt.sample(kp, n),
                    output_tokens=output.sample(ko, n), valid=jnp.ones((n,), arrival_s.dtype))


def requests_from_arrays(arrival_s, prompt_tokens, output_tokens, capacity: int | None = None) -> Requests:
    """Requests from parsed trace columns (host arrays), padded with invalid entries to
    ``capacity`` (default: their count). Raises ConfigError naming the column and the first
    bad row (0-based) for non-finite, negative arrivals or lengths < 1, and when there are
    more requests than ``capacity``."""
    cols = {"arrival_s": arrival_s, "prompt_tokens": prompt_tokens, "output_tokens": output_tokens}
    arrs = {}
    for name, v in cols.items():
        try:
            a = np.asarray(v, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: not numeric ({v!r:.80})") from None
        arrs[name] = a
    n = len(arrs["arrival_s"])
    for name, a in arrs.items():
        if len(a) != n:
            raise ConfigError(f"{name} has {len(a)} entries; arrival_s has {n}: columns must have equal length")
        low = 0.0 if name == "arrival_s" else 1.0
        bad = np.flatnonzero(~np.isfinite(a) | (a < low))
        if bad.size:
            i = int(bad[0])
            raise ConfigError(f"{name}[{i}] = {a[i]!r}; must be a finite number >= {low:g}")
    if n == 0:
        raise ConfigError("no requests: need at least one (arrival_s, prompt_tokens, output_tokens) row")
    cap = n if capacity is None else int(capacity)
    if n > cap:
        raise ConfigError(f"{n} requests exceed the capacity max_requests = {cap}; raise max_requests "
                          f"to at least {n} (it sets the simulator's fixed shape)")
    pad = cap - n
    f = lambda a, fill: np.concatenate([a, np.full(pad, fill)])
    return Requests(arrival_s=jnp.asarray(f(arrs["arrival_s"], 0.0)),
                    prompt_tokens=jnp.asarray(np.round(f(arrs["prompt_tokens"], 1.0))),
                    output_tokens=jnp.asarray(np.round(f(arrs["output_tokens"], 1.0))),
                    valid=jnp.asarray(f(np.ones(n), 0.0)))


__all__ = ["ARRIVALS", "LENGTH_KINDS", "Lengths", "Requests", "make_requests", "requests_from_arrays"]
