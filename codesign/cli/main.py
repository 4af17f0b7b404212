"""Entry point: dispatch subcommands; bad input exits 2 with one clear line, no traceback."""
import os
import sys

from ..errors import ConfigError
from . import calibrate_cmd, evaluate_cmd, optimize_cmd, pareto_cmd, presets_cmd, sweep_cmd, validate_cmd
from ._common import Parser

COMMANDS = (presets_cmd, evaluate_cmd, sweep_cmd, validate_cmd, calibrate_cmd, optimize_cmd, pareto_cmd)


def build_parser():
    parser = Parser(prog="codesign", description="Differentiable co-design of LLM inference hardware.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for cmd in COMMANDS:
        cmd.add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"codesign {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
