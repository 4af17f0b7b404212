"""Entry point: dispatch subcommands; bad input exits 2 with one clear line, no traceback.

Exit codes of every command: 0 done; 1 a run that did not succeed (a fit that did not
converge, a sweep write that failed); 2 bad input or output that cannot be written;
130 interrupted (Ctrl-C): one line, no traceback, and no half-written file (files are
written whole or not at all, :mod:`codesign.config.writing`).
"""
import os
import signal
import sys
import threading

from ..errors import ConfigError
from . import calibrate_cmd, evaluate_cmd, optimize_cmd, pareto_cmd, presets_cmd, serve_cmd, sweep_cmd, validate_cmd
from ._common import Parser

COMMANDS = (presets_cmd, evaluate_cmd, sweep_cmd, validate_cmd, calibrate_cmd, optimize_cmd, pareto_cmd, serve_cmd)
EXIT_INTERRUPTED = 128 + signal.SIGINT


def build_parser():
    parser = Parser(prog="codesign", description="Differentiable co-design of LLM inference hardware.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for cmd in COMMANDS:
        cmd.add_parser(sub)
    return parser


class _Interrupt:
    """The one SIGINT handler of every command: records the interrupt, then raises
    KeyboardInterrupt as Python's default does. Recording it matters because a
    KeyboardInterrupt raised inside a JAX callback or a compiler thread reaches the command
    as another exception (or not at all); ``main`` still answers it as an interrupt."""

    def __init__(self):
        self.seen = False
        self.previous = None

    def __call__(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _silence_stdout():
    """Point fd 1 at /dev/null so the interpreter's final flush of what could not be written
    does not print a second error."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured in a test)
        pass


class _StdoutError(Exception):
    """Standard output could not be written (a full disk, /dev/full, a closed terminal)."""


class _GuardedStdout:
    """sys.stdout during a command: a failed write or flush is a _StdoutError, so it is told
    apart from an OSError of anything else; a closed pipe stays a BrokenPipeError."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _StdoutError(e.strerror or str(e)) from None

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _StdoutError(e.strerror or str(e)) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    name = f"codesign {args.command}"
    stdout = sys.stdout
    sys.stdout = _GuardedStdout(stdout)
    with _Interrupt() as interrupt:
        try:
            code = args.func(args)
            sys.stdout.flush()
            return code
        except ConfigError as e:
            print(f"{name}: error: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return _interrupted(name)
        except BrokenPipeError:  # output piped into `head` and closed: not an error
            _silence_stdout()
            return 0
        except _StdoutError as e:
            _silence_stdout()
            print(f"{name}: error: cannot write the output to standard output: {e}", file=sys.stderr)
            return 2
        except BaseException:
            if interrupt.seen:  # the interrupt surfaced as another exception (e.g. from JAX)
                return _interrupted(name)
            raise
        finally:
            if isinstance(sys.stdout, _GuardedStdout):
                sys.stdout = stdout


def _interrupted(name: str) -> int:
    print(f"\n{name}: interrupted; no file was left half-written", file=sys.stderr)
    return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
