"""Parsing of ``[value, "source"]`` preset entries and key checks, with errors that name
the file, the key, the bad value and what is allowed."""
from ..errors import ConfigError
from .fields import NONNEGATIVE, Range, number


def parse_number(where: str, key: str, entry, require_source: bool = True, allowed: Range = NONNEGATIVE) -> float:
    """``[value, source]`` (or a bare number when ``require_source`` is false) -> a float in
    ``allowed`` (:func:`codesign.design.fields.number`)."""
    if isinstance(entry, (list, tuple)):
        if len(entry) != 2 or not isinstance(entry[1], str) or not entry[1].strip():
            raise ConfigError(f"{where}: {key} must be [value, \"source\"], got {entry!r}")
        value = entry[0]
    elif require_source:
        raise ConfigError(f"{where}: {key} needs a source: write [value, \"source\"], got {entry!r}")
    else:
        value = entry
    return number(f"{where}: {key}", value, allowed)


def nonnegative(name: str, value) -> float:
    """``value`` as a finite float >= 0; the error names ``name``, the value and what is allowed."""
    return number(name, value, NONNEGATIVE)


def source_of(entry) -> str:
    return entry[1] if isinstance(entry, (list, tuple)) and len(entry) == 2 else ""


def check_keys(where: str, got, required, optional=()):
    """Unknown keys name the allowed ones; missing keys are listed."""
    allowed = set(required) | set(optional)
    unknown = sorted(set(got) - allowed, key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(map(str, allowed)))}")
    missing = [k for k in required if k not in got]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")


def check_choice(where: str, key: str, value, allowed):
    if value not in allowed:
        raise ConfigError(f"{where}: {key} = {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value
