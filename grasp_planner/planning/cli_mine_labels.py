"""``grasp-planner mine-labels``: the planner's answers on a label store's scenes, labelled in the table world.

    grasp-planner mine-labels --store datasets/labels --out datasets/labels_planned --model models/grasp_cnn.json
    grasp-planner train --store datasets/labels --planned-store datasets/labels_planned ...

Resumable: run it again (same model and settings) after the base store has grown, and only the new
objects are planned on. See planning/planner_labels.py.
"""
from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("--store", default="datasets/labels", help="the base label store (its scenes)")
    parser.add_argument("--out", default="datasets/labels_planned", help="the planned store to write or extend")
    parser.add_argument("--model", default="models/grasp_cnn.json", help="model card of the planner's network")
    parser.add_argument("--planner-config", default=None, help="planner YAML (default config/planner.yaml)")
    parser.add_argument("--max-objects", type=int, default=None, help="only the store's first N objects")


def run(args) -> int:
    from grasp_planner.planning.planner_labels import mine_store

    try:
        summary = mine_store(args.store, args.out, args.model, args.planner_config, args.max_objects,
                             progress=sys.stderr.isatty())
    except (ValueError, OSError) as exc:   # StoreError / ConfigError / a missing model: one line
        print(f"grasp-planner mine-labels: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    c = summary["counts"]
    print(f"mine-labels: {summary['objects']} objects, {summary['plans']} plans, {summary['grasps']} labelled "
          f"({c['robust']} robust, {c['loose']} loose, {c['failed']} failed); no grasp: {summary['no_grasp']}; "
          f"planning {summary['plan_s']:.0f} s, simulating {summary['sim_s']:.0f} s -> {args.out}")
    return 0
