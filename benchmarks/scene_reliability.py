#!/usr/bin/env python3
"""Issue 17's "what OK means": success of OK vs LOW_SCORE plans and the reliability diagram, from scene runs.

    python benchmarks/scene_reliability.py shipped=out/rc_shipped/outcomes.json \
        trained=out/rc_hard_warm/outcomes.json --png docs/reliability.png

Reads ``eval_real_camera.py``'s ``outcomes.json`` (scene cases only; the heuristic and the clean case
are not the planner on a scene). Prints, per run, robust-after-10-shakes (and 1 shake) for OK and
LOW_SCORE plans with 95% Wilson intervals and their ratio (the issue asks OK >= 3x LOW_SCORE), and
writes the diagram of predicted probability vs table-world success.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from grasp_planner.perception.evaluation_plots import (expected_calibration_error, plot_reliability,
                                                           reliability_bins)
    from grasp_planner.planning.table_protocol import wilson_interval

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=path/to/outcomes.json")
    parser.add_argument("--png", default=str(ROOT / "docs" / "reliability.png"))
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    curves, report = {}, {}
    for item in args.runs:
        label, _, path = item.rpartition("=")
        if not label or not Path(path).is_file():
            print(f"error: expected LABEL=outcomes.json with an existing file, got {item!r}", file=sys.stderr)
            return 2
        scenes = [o for o in json.loads(Path(path).read_text()) if o["case"] == "scene"]
        rows = {}
        for status in ("OK", "LOW_SCORE"):
            group = [o for o in scenes if o["plan_status"] == status]
            k10, k1 = sum(o["robust_10_shakes"] for o in group), sum(o["robust_1_shake"] for o in group)
            rows[status] = {"n": len(group), "robust_10": k10, "robust_1": k1,
                            "rate_10": k10 / len(group) if group else float("nan"),
                            "rate_1": k1 / len(group) if group else float("nan"),
                            "ci95_10": wilson_interval(k10, len(group)), "ci95_1": wilson_interval(k1, len(group))}
        bins = reliability_bins([o["probability"] for o in scenes], [o["robust_10_shakes"] for o in scenes],
                                args.bins)
        curves[label] = bins
        report[label] = {"cases": len(scenes), "by_status": rows, "ece_10": expected_calibration_error(bins),
                         "bins": bins}
        print(f"{label}: {len(scenes)} scene cases, ECE (10 shakes) {report[label]['ece_10']:.3f}")
        for status, r in rows.items():
            lo, hi = r["ci95_10"]
            print(f"  {status:9s} n={r['n']:3d}  robust 10 shakes {r['robust_10']:3d} ({r['rate_10']:.1%}, "
                  f"95% {lo:.1%}-{hi:.1%})  1 shake {r['robust_1']:3d} ({r['rate_1']:.1%})")
        ok, low = rows["OK"]["rate_10"], rows["LOW_SCORE"]["rate_10"]
        ratio = ok / low if low > 0 else float("inf") if ok > 0 else float("nan")
        print(f"  OK / LOW_SCORE success ratio (10 shakes): {ratio:.2f} (issue: >= 3)")
    plot_reliability(curves, args.png)
    print(f"wrote {args.png}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
