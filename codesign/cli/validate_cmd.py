"""``codesign validate``: predictions vs published measurements, row by row and summarised."""
import sys

from ..config.calibrated import load_fitted
from ..config.measurements import load_dataset
from ..validation import predict_cases, results, summarize
from ._common import add_dataset_args, print_json


def add_parser(sub):
    p = sub.add_parser("validate", help="compare predictions with published measurements",
                       description="Predict every measurement row the model can express; report "
                                   "errors per row, per system and per metric; list the rows it "
                                   "cannot express and the rows skipped as malformed.")
    add_dataset_args(p)
    p.add_argument("--calibrated", action="store_true",
                   help="use the fitted values of configs/calibration/fitted.yaml (default: uncalibrated presets)")
    p.add_argument("--plot", metavar="PATH", help="write a parity plot (PNG, log axes)")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.set_defaults(func=run)


def report(data, calibrated: bool) -> dict:
    """Everything validate reports, as plain data."""
    res = results(data.cases, predict_cases(data.cases))
    skipped = sum(1 for i in data.issues if i.line)  # issues tied to a row (the others: mapping entries)
    return {
        "calibrated": calibrated,
        "files": data.files,
        "counts": {"rows": len(res) + len(data.inexpressible) + skipped, "expressed": len(res),
                   "inexpressible": len(data.inexpressible), "skipped": skipped,
                   "mapping_issues": len(data.issues) - skipped},
        "rows": [r.to_dict() for r in res],
        "summary": {"by_system": summarize(res, "hardware"), "by_metric": summarize(res, "kind")},
        "inexpressible": [{"id": x.row.id, "where": x.row.where, "system": x.row.system,
                           "metric": x.row.metric, "reason": x.reason} for x in data.inexpressible],
        "issues": [{"file": i.file, "line": i.line, "id": i.id, "message": i.message} for i in data.issues],
        "_results": res,
    }


def run(args):
    if args.calibrated:
        load_fitted()  # a missing or malformed fitted file is one clear error, not one per row
    data = load_dataset(args.data, args.mapping, calibrated=args.calibrated)
    out = report(data, args.calibrated)
    res = out.pop("_results")
    for i in data.issues:
        print(f"codesign validate: warning: {i}", file=sys.stderr)
    if args.plot:
        from ._plots import parity_plot  # noqa: PLC0415 (matplotlib only when plotting)
        label = "calibrated" if args.calibrated else "uncalibrated presets"
        parity_plot(res, args.plot, f"codesign validate: predicted vs measured ({label})")
    if args.json:
        print_json(out)
    else:
        print_report(out, args.plot)
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
    print(f"  hardware: {'CALIBRATED (fitted values, configs/calibration/fitted.yaml)' if r['calibrated'] else 'uncalibrated presets (stated physical constants)'}")
    print(f"\n  {'row':34s} {'system':14s} {'metric':16s} {'mode':11s} {'measured':>10s} {'predicted':>10s} {'error':>7s} {'batch':>6s}")
    for x in r["rows"]:
        flag = "" if x["feasible"] else "  (does not fit / misses bound)"
        print(f"  {x['id'][:34]:34s} {x['hardware'][:14]:14s} {x['kind'][:16]:16s} {x['mode']:11s} "
              f"{x['measured']:10.4g} {x['predicted']:10.4g} {x['error']:+7.0%} {x['batch']:6.0f}{flag}")
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
