"""Frozen dataclasses registered as JAX pytrees.

Fields marked ``static(...)`` are pytree metadata (part of the jit cache key: names and
anything that selects code paths); every other field is a leaf (a float or an array) that
can be traced, vmapped and differentiated.
"""
import dataclasses

import jax


def static(default=dataclasses.MISSING):
    """A dataclass field that is pytree metadata rather than a leaf."""
    return dataclasses.field(default=default, metadata={"static": True})


def pytree_dataclass(cls):
    """Make ``cls`` a frozen dataclass and register it as a pytree."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(cls)
    meta = [f.name for f in fields if f.metadata.get("static")]
    data = [f.name for f in fields if not f.metadata.get("static")]
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)


def numeric_fields(cls_or_obj) -> tuple[str, ...]:
    """Names of the leaf (dynamic, numeric) fields of a spec class or instance."""
    return tuple(f.name for f in dataclasses.fields(cls_or_obj) if not f.metadata.get("static"))


def replace(obj, **changes):
    """``dataclasses.replace`` that names the field on a typo."""
    names = {f.name for f in dataclasses.fields(obj)}
    bad = sorted(set(changes) - names)
    if bad:
        raise KeyError(f"{type(obj).__name__} has no field {bad[0]!r}; fields: {', '.join(sorted(names))}")
    return dataclasses.replace(obj, **changes)
