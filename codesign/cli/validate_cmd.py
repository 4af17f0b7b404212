"""``codesign validate``: predictions vs published measurements, row by row and summarised."""
import sys

from ..workflows import run_validate
from ._common import add_dataset_args, print_json


def add_parser(sub):
    p = sub.add_parser("validate", help="compare predictions with published measurements",
                       description="Predict every measurement row the model can express; report "
                                   "errors per row, per system and per metric; list the rows it "
                                   "cannot express and the rows skipped as malformed.")
    add_dataset_args(p)
    p.add_argument("--calibrated", action="store_true",
                   help="use the fitted values of codesign/presets/calibration/fitted.yaml "
                        "(`codesign calibrate --update-shipped`; default: uncalibrated presets)")
    p.add_argument("--plot", metavar="PATH", help="write a parity plot (PNG, log axes)")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.set_defaults(func=run)


def run(args):
    v = run_validate(args.data, args.mapping, calibrated=args.calibrated, plot=args.plot)
    for i in v.dataset.issues:
        print(f"codesign validate: warning: {i}", file=sys.stderr)
    if args.json:
        print_json(v.report)
    else:
        print_report(v.report, v.plot)
    return 0


def _pct(x):
    return f"{x:6.0%}" if abs(x) < 10 else f"{x:6.1f}x"


def print_report(r, plot):
    c = r["counts"]
    print(f"Validation against {', '.join(f['path'] for f in r['files']['measurements'])} "
          f"(mapping {r['files']['mapping']['path']})")
    print(f"  {c['rows']} rows: {c['expressed']} expressed, {c['inexpressible']} inexpressible, "
          f"{c['skipped']} skipped as malformed or unknown"
          + (f"; {c['mapping_issues']} mapping entries rejected" if c["mapping_issues"] else ""))
    print(f"  hardware: {'CALIBRATED (fitted values, codesign/presets/calibration/fitted.yaml)' if r['calibrated'] else 'uncalibrated presets (stated physical constants)'}")
    print(f"\n  {'row':34s} {'system':14s} {'metric':16s} {'mode':11s} {'measured':>10s} {'predicted':>10s} {'error':>7s} {'batch':>6s}")
    for x in r["rows"]:
        flag = "" if x["feasible"] else "  (does not fit / misses bound)"
        print(f"  {x['id'][:34]:34s} {x['hardware'][:14]:14s} {x['kind'][:16]:16s} {x['mode']:11s} "
              f"{x['measured']:10.4g} {x['predicted']:10.4g} {x['error']:+7.0%} {x['batch']:6.0f}"
              + (f"  [{x['boundary']} boundary]" if x["boundary"] else "") + flag)
    for title, key, col in (("system", "by_system", "hardware"), ("metric", "by_metric", "kind")):
        print(f"\n  By {title}: {'':10s} {'n':>3s} {'median APE':>11s} {'max APE':>9s}")
        for s in r["summary"][key]:
            print(f"    {s[col]:20s} {s['n']:3d} {_pct(s['median_ape']):>11s} {_pct(s['max_ape']):>9s}")
    print(f"\n  Rows the model cannot express ({len(r['inexpressible'])}):")
    for x in r["inexpressible"]:
        print(f"    {x['id']} ({x['where']}): {x['reason']}")
    if r["issues"]:
        print(f"\n  Rows skipped ({len(r['issues'])}):")
        for i in r["issues"]:
            where = f"{i['file']}:{i['line']}" if i["line"] else i["file"]
            print(f"    {where}: {i['id'] or '(no id)'}: {i['message']}")
    if plot:
        print(f"\n  Parity plot: {plot}")
