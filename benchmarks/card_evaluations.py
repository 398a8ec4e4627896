#!/usr/bin/env python3
"""Write a model's table-top and floating evaluation figures into its model card (key ``evaluations``).

    python benchmarks/card_evaluations.py models/grasp_cnn.json \
        --protocol out/eval_table/evaluation.json --scenes out/rc/summary.json \
        --floating out/eval_floating/evaluation.json [--store datasets/labels]

The card then carries what the issue asks a shipped model to state: the table-top protocol and the
floating protocol with their 95% intervals, the scene success (from a pre-grasp, with no initial pose,
the heuristic beside it), how often OK and LOW_SCORE plans held, and the data it saw (the training
block's store manifest hash and counts stay as ``export`` wrote them). Only the card's JSON changes;
the ONNX files and their hashes do not.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _held_by_status(outcomes, status_key: str, held_key: str, keep=lambda o: True) -> dict:
    """Per plan status: plans and how many held after 10 shakes."""
    out: dict = {}
    for o in outcomes:
        if not keep(o):
            continue
        row = out.setdefault(o[status_key], {"plans": 0, "held": 0})
        row["plans"] += 1
        row["held"] += int(bool(o[held_key]))
    return out


def table_protocol(path: Path) -> dict:
    report = json.loads(path.read_text())
    planner = [o for o in report["outcomes"] if o["method"] == "planner"]
    return {"source": str(path), "problem_set": report.get("problem_set"), "seed": report.get("seed"),
            "methods": report["summary"],
            "planner_by_status": _held_by_status(planner, "plan_status", "robust_10_shakes")}


def scenes(path: Path) -> dict:
    summary = json.loads(path.read_text())
    out = {"source": str(path), "run": summary.get("run", {})}
    for key in ("scenes", "no_pose", "heuristic", "clean", "per_tilt", "per_noise"):
        if key in summary:
            out[key] = summary[key]
    outcomes_path = path.with_name("outcomes.json")
    if outcomes_path.exists():
        outcomes = json.loads(outcomes_path.read_text())
        out["scenes_by_status"] = _held_by_status(outcomes, "plan_status", "robust_10_shakes",
                                                  lambda o: o["case"] == "scene")
    return out


def floating(path: Path) -> dict:
    report = json.loads(path.read_text())
    skip = ("outcomes", "problems", "per_problem")
    return {"source": str(path), **{k: v for k, v in report.items() if k not in skip}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("card", type=Path)
    parser.add_argument("--protocol", type=Path, help="table-world evaluation.json (grasp-planner evaluate)")
    parser.add_argument("--scenes", type=Path, help="eval_real_camera.py summary.json (outcomes.json beside it)")
    parser.add_argument("--floating", type=Path, help="floating-world evaluation.json")
    args = parser.parse_args()
    try:
        card = json.loads(args.card.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: model card {args.card}: {exc}")
        return 2
    evaluations = card.get("evaluations", {})
    for key, path, read in (("table_protocol", args.protocol, table_protocol), ("scenes", args.scenes, scenes),
                            ("floating_protocol", args.floating, floating)):
        if path is None:
            continue
        try:
            evaluations[key] = read(path)
        except (OSError, json.JSONDecodeError, KeyError) as exc:
            print(f"error: {path}: {type(exc).__name__}: {exc}")
            return 2
    card["evaluations"] = evaluations
    args.card.write_text(json.dumps(card, indent=1) + "\n")
    print(f"wrote evaluations {sorted(evaluations)} into {args.card}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
