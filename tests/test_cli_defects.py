"""New-user defects whose tests reach into the CLI's own pieces (the rest: tests/test_defects.py):
the sensitivities line, the ETA, calibrate's default output, and an interrupt that surfaces
as another exception."""
import os
import signal

from codesign.cli._progress import duration, line
from codesign.errors import ConfigError
from codesign.progress import Progress


def test_sensitivities_line_keeps_whole_names():
    from codesign.cli.evaluate_cmd import sensitivity_line  # noqa: PLC0415
    row = {f"chip.a_rather_long_parameter_name_{i}": (-1) ** i * (1 - i / 40) for i in range(30)}
    text = sensitivity_line(row)
    shown = text.split(", ... ")[0].split(", ")
    assert len(shown) == 12 and all(s.split(" ")[0] in row for s in shown)
    assert text.endswith("18 more (--json)")


def test_eta_keeps_whole_days():
    assert duration(3 * 86400 + 4 * 3600 + 5 * 60 + 6) == "3d 04:05:06"
    p = Progress("sweep", 0.1, 10, 100, "points", rate_per_s=1.0, eta_s=2 * 86400.0)
    assert "ETA 2d 00:00:00" in line(p)


def test_calibrate_writes_the_shipped_fit_only_when_asked(monkeypatch, codesign_cli):
    from codesign.cli import calibrate_cmd  # noqa: PLC0415
    seen = {}

    def fake(**kw):
        seen.update(kw)
        raise ConfigError("stop")
    monkeypatch.setattr(calibrate_cmd, "run_calibrate", fake)
    codesign_cli("calibrate", "--quiet")
    assert seen["out"] == "fitted.yaml" and seen["update_shipped"] is False  # was: the packaged file
    codesign_cli("calibrate", "--quiet", "--update-shipped")
    assert seen["update_shipped"] is True
    assert codesign_cli("calibrate", "--out", "x.yaml", "--update-shipped").returncode == 2


def test_interrupt_surfacing_as_another_error_is_still_an_interrupt(monkeypatch, codesign_cli):
    """JAX turns a KeyboardInterrupt raised in a callback into its own error; the handler
    has seen the signal, so the command still exits 130."""
    from codesign.cli import validate_cmd  # noqa: PLC0415

    def interrupted(*a, **k):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10**7):  # the handler runs at the next bytecode boundary
                pass
        except KeyboardInterrupt:
            raise RuntimeError("XlaRuntimeError: KeyboardInterrupt") from None
        raise AssertionError("no SIGINT arrived")
    monkeypatch.setattr(validate_cmd, "run_validate", interrupted)
    p = codesign_cli("validate")
    assert p.returncode == 130 and "codesign validate: interrupted" in p.stderr
