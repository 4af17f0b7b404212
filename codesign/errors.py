"""The one exception type users see for bad input; the CLI turns it into exit code 2."""


class ConfigError(ValueError):
    """Bad input: names the field, the bad value and what is allowed."""


class UnknownPresetError(ConfigError):
    """A preset name that is not in the catalog: always the user's typo, never a property of
    the data, so a measurement mapping naming one is an error rather than a skipped row."""
