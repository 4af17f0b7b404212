"""``codesign calibrate``: fit per-family efficiency factors and overheads to the measurement
dataset, report in-sample, leave-one-out and hold-out-system errors, and save the fitted
values (labelled as fitted, with date and dataset hashes) to ``--out`` (default fitted.yaml),
or with ``--update-shipped`` to the packaged fit that ``--calibrated`` reads."""
import sys

import numpy as np

from ..config.measurements import load_dataset
from ..workflows import check_fit_arguments, loss_checkpoints, run_calibrate
from ._common import add_dataset_args, print_json
from ._progress import ProgressPrinter


def add_parser(sub):
    p = sub.add_parser("calibrate", help="fit efficiency factors and overheads to measurements",
                       description="Fit bounded per-family parameters by gradient descent (adam) on "
                                   "mean squared log error; report leave-one-out and hold-out-system "
                                   "errors next to the in-sample error; save the fitted values.")
    add_dataset_args(p)
    p.add_argument("--steps", type=int, default=1500, metavar="N", help="adam steps per fit (default 1500)")
    p.add_argument("--learning-rate", type=float, default=0.05, metavar="X", help="peak learning rate (default 0.05)")
    p.add_argument("--prior-weight", type=float, default=1e-3, metavar="X",
                   help="weak pull towards the start values for directions the data leave flat (default 1e-3)")
    p.add_argument("--no-cross-validation", action="store_true", help="skip leave-one-out and hold-out-system fits")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="PATH", default="fitted.yaml",
                       help="fitted file to write (default: fitted.yaml in the working directory)")
    where.add_argument("--update-shipped", action="store_true",
                       help="replace the packaged fit codesign/presets/calibration/fitted.yaml, which "
                            "--calibrated reads (a tracked file of the package: only when asked)")
    p.add_argument("--dry-run", action="store_true", help="fit and report, write nothing")
    p.add_argument("--allow-unconverged", action="store_true", help="write the file even if the fit did not converge")
    p.add_argument("--plot", metavar="PATH", help="write the loss history of the full fit (PNG)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def run(args):
    check_fit_arguments(args.steps, args.learning_rate, args.prior_weight)
    data = load_dataset(args.data, args.mapping)
    for i in data.issues:
        print(f"codesign calibrate: warning: {i}", file=sys.stderr)
    cal = run_calibrate(dataset=data, steps=args.steps, learning_rate=args.learning_rate,
                        prior_weight=args.prior_weight, cross_validate=not args.no_cross_validation,
                        out=args.out, write=not args.dry_run, allow_unconverged=args.allow_unconverged,
                        plot=args.plot, progress=None if args.quiet else ProgressPrinter(),
                        update_shipped=args.update_shipped)
    if not cal.converged:
        print(f"codesign calibrate: WARNING: the fit did not converge ({cal.study.full.message}); "
              + (f"written anyway to {cal.written}" if cal.written
                 else "fitted file NOT written (--allow-unconverged to force)"), file=sys.stderr)
    if args.json:
        print_json(cal.to_dict())
    else:
        print_report(cal.study, cal.document, cal.written, data, cal.plot, args.update_shipped)
    return 0 if cal.converged else 1


def print_report(study, doc, written, data, plot, shipped=False):
    p, full = study.problem, study.full
    print(f"Calibration on {p.n} rows ({', '.join(f['path'] for f in data.files['measurements'])}); "
          f"{len(data.inexpressible)} rows inexpressible, {sum(1 for i in data.issues if i.line)} skipped")
    print(f"  fit: {full.message}")
    print("  loss: " + ", ".join(f"step {c['step']} {c['loss']:.4g}" for c in loss_checkpoints(full.loss_history, 5)))
    if doc["fit"]["loo_folds_not_converged"] or doc["fit"]["holdout_fits_not_converged"]:
        print(f"  WARNING: {doc['fit']['loo_folds_not_converged']} leave-one-out folds and hold-out fits "
              f"{doc['fit']['holdout_fits_not_converged']} did not converge")
    print("\n  Fitted values (FITTED, per family; multipliers scale the preset, absolutes replace it):")
    for fam, entry in doc["families"].items():
        print(f"    {fam} ({', '.join(entry['hardware'])}; {entry['rows']} rows)")
        for name, v in entry["values"].items():
            kind = "x" if v["kind"] == "multiplier" else "="
            flag = "  AT BOUND" if v["at_bound"] else ""
            iv = next((f"  {k[len('interval_'):]}% [{x[0]:.3g}, {x[1]:.3g}]" for k, x in v.items()
                       if k.startswith("interval_")), "")
            print(f"      {name:20s} {kind} {v['value']:<8.4g} bounds [{v['bounds'][0]:g}, {v['bounds'][1]:g}]  "
                  f"sensitivity {v['sensitivity']:.3g}{iv}{flag}")
        if entry["unconstrained"]:
            print(f"      not constrained by any row (preset kept): {', '.join(entry['unconstrained'])}")
    print(f"\n  Errors (APE = |predicted / measured - 1|): {'':8s} {'n':>3s} {'in-sample':>17s} "
          f"{'leave-one-out':>17s} {'hold-out system':>17s}")
    print(f"  {'':42s} {'':3s} {'median':>8s} {'max':>8s} {'median':>8s} {'max':>8s} {'median':>8s} {'max':>8s}")
    errs = doc["errors"]
    for kind, e in errs["in_sample"].items():
        lo, ho = errs["leave_one_out"].get(kind, {}), errs["hold_out_system"].get(kind, {})
        cells = [e["median_ape"], e["max_ape"], lo.get("median_ape", np.nan), lo.get("max_ape", np.nan),
                 ho.get("median_ape", np.nan), ho.get("max_ape", np.nan)]
        print(f"    {kind:40s} {e['n']:3d} " + " ".join(f"{x:8.1%}" for x in cells))
    fam = errs.get("hold_out_family", {})
    if fam:
        print("  Hold-out family (every system of the family held out), median APE: "
              + ", ".join(f"{k} {v['median_ape']:.1%}" for k, v in fam.items()))
    u = doc.get("uncertainty", {})
    for scheme, cov in u.get("coverage", {}).items():
        print(f"  {u['level']:.0%} prediction intervals, {scheme.replace('_', ' ')}: "
              + ", ".join(f"{k} {v['inside']}/{v['n']} inside ({v['fraction']:.0%})" for k, v in cov.items())
              + " (target 70-90%)")
    energy = [c for c in p.cases if c.kind == "energy per token"]
    if energy:
        counts = {b: sum(1 for c in energy if c.boundary == b) for b in dict.fromkeys(c.boundary for c in energy)}
        print("  Energy rows compared at their boundary: " + ", ".join(f"{b} {n}" for b, n in counts.items())
              + " (per row: --json rows[].boundary)")
    print("\n  Hold-out system (fit without every row of the system, predict them):")
    for system, by_kind in doc["hold_out_system"].items():
        cells = ", ".join(f"{k} median {v['median_ape']:.0%} (n={v['n']})" for k, v in by_kind.items())
        family = p.family_of(system)
        alone = all(p.family_of(h) != family for h in set(p.hardware.tolist()) - {system})
        note = " [whole family held out: uncalibrated start values]" if alone else ""
        print(f"    {system:14s} {cells}{note}")
    print(f"\n  {'Written: ' + written if written else 'Fitted file not written.'}")
    if written and not shipped:
        print("  The shipped fit (codesign/presets/calibration/fitted.yaml, read by --calibrated) is unchanged; "
              "--update-shipped replaces it.")
    if plot:
        print(f"  Loss plot: {plot}")
