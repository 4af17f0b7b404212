"""The one exception type users see for bad input; the CLI turns it into exit code 2."""


class ConfigError(ValueError):
    """Bad input: names the field, the bad value and what is allowed."""
