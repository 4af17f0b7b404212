"""Which way is better for each metric."""
from ..errors import ConfigError
from ..model import METRIC_NAMES

#: Metrics where larger is better; every other metric is minimised.
MAXIMIZE = frozenset({"decode_tokens_per_s_per_user", "throughput_tokens_per_s", "max_batch", "fits",
                      "die_yield"})


def sense(metric: str) -> float:
    """+1 to minimise, -1 to maximise."""
    check_metric(metric)
    return -1.0 if metric in MAXIMIZE else 1.0


def check_metric(metric: str, where: str = "metric"):
    """``metric`` itself if it is one of :data:`codesign.METRIC_NAMES` (each in SI units: seconds,
    tokens/s, joules, watts, dollars); otherwise a ConfigError naming ``where`` and the allowed names."""
    if metric not in METRIC_NAMES:
        raise ConfigError(f"{where}: unknown metric {metric!r}; allowed: {', '.join(METRIC_NAMES)}")
    return metric
