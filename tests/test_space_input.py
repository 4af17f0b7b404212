"""A design-space entry of a config is parsed strictly: booleans and non-finite numbers are
refused with the entry's name, never read as 1.0 or NaN."""
import pytest

from codesign.errors import ConfigError
from codesign.space import parse_variable


@pytest.mark.parametrize("spec,message", [
    ({"min": True, "max": 2e9}, "space.chip.sram_bytes.min = True; allowed: a number"),
    ({"min": 1e8, "max": 2e9, "num": True}, "space.chip.sram_bytes.num = True; allowed: a number"),
    ({"min": 1e8, "max": 2e9, "log": "yes"}, "space.chip.sram_bytes.log = 'yes'; allowed: true or false"),
    ({"min": 1e8, "max": 2e9, "integer": 1}, "space.chip.sram_bytes.integer = 1; allowed: true or false"),
    ([1e8, True], "choices must be numbers"),
    ([1e8, float("nan")], "choices must be finite numbers"),
    ({"min": 1e8, "max": float("inf")}, "need min <= max"),
])
def test_bad_space_entries_are_named(spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_variable("chip.sram_bytes", spec)


def test_good_entries_still_parse():
    v = parse_variable("chip.sram_bytes", {"min": 1e8, "max": 2e9, "log": True, "num": 4})
    assert (v.kind, v.low, v.high, v.log, v.num) == ("continuous", 1e8, 2e9, True, 4)
    v = parse_variable("mapping.tp", [8, 1, 2, 4])
    assert (v.kind, v.choices) == ("integer", (1.0, 2.0, 4.0, 8.0))
