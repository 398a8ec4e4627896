"""Paired comparison of two table-protocol runs of the planner (two models or two settings, same problems).

Both runs label the planner's grasp on the same 100 problems with the same seeded trial, so the
difference is read on the problems where exactly one of them held (the discordant pairs), with an
exact two-sided McNemar (binomial) test; the unpaired intervals of 100 problems each are ~20 points wide.

    python benchmarks/compare_protocol_runs.py runs/a/protocol/evaluation.json runs/b/protocol/evaluation.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scipy.stats import binomtest


def planner_outcomes(path: Path) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text())
        rows = [o for o in data["outcomes"] if o["method"] == "planner"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a protocol evaluation.json ({exc})") from None
    return rows


def compare(a: list[dict], b: list[dict]) -> dict:
    """Counts of the pairs (held in a, held in b), OK-and-held per run, and the exact McNemar p-value."""
    if [o["object_name"] for o in a] != [o["object_name"] for o in b]:
        raise ValueError("the two runs are not on the same problems in the same order")
    both = sum(x["robust_10_shakes"] and y["robust_10_shakes"] for x, y in zip(a, b))
    only_a = sum(x["robust_10_shakes"] and not y["robust_10_shakes"] for x, y in zip(a, b))
    only_b = sum(y["robust_10_shakes"] and not x["robust_10_shakes"] for x, y in zip(a, b))
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0

    def ok(rows):
        plans = [o for o in rows if o.get("plan_status") == "OK"]
        return {"ok": len(plans), "ok_held": sum(o["robust_10_shakes"] for o in plans),
                "low_score": sum(o.get("plan_status") == "LOW_SCORE" for o in rows),
                "low_score_held": sum(o["robust_10_shakes"] for o in rows if o.get("plan_status") == "LOW_SCORE")}
    return {"n": len(a), "held_a": both + only_a, "held_b": both + only_b, "both": both, "only_a": only_a,
            "only_b": only_b, "mcnemar_p": float(p), "a": ok(a), "b": ok(b)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    try:
        c = compare(planner_outcomes(args.a), planner_outcomes(args.b))
    except ValueError as exc:
        print(f"compare_protocol_runs: {exc}", file=sys.stderr)
        return 2
    print(f"{c['n']} problems: held (10 shakes) A {c['held_a']}, B {c['held_b']}; both {c['both']}, "
          f"only A {c['only_a']}, only B {c['only_b']}; exact McNemar p = {c['mcnemar_p']:.3f}")
    for name in ("a", "b"):
        r = c[name]
        print(f"  {name.upper()}: OK {r['ok_held']}/{r['ok']} held, LOW_SCORE {r['low_score_held']}/{r['low_score']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
