"""``grasp-planner export RUN --out models/grasp_cnn.onnx``: ONNX files and model card of a training run."""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", help="training run folder (train's --out)")
    parser.add_argument("--out", default="models/grasp_cnn.onnx",
                        help="full model path; *_encoder.onnx, *_head.onnx and *.json are written beside it")
    parser.add_argument("--untrained", choices=["paper", "rot6d", "quat"],
                        help="instead of a run, export randomly initialised weights of this architecture "
                             "(for wiring up the planner before a model is trained)")
    parser.add_argument("--seed", type=int, default=0, help="weight initialisation seed for --untrained")
    parser.add_argument("--quarter-turns", type=int, choices=[1, 4, 8], default=1, dest="quarter_turns",
                        help="4: consumers average each pose's logits over the view's four quarter turns, 8: "
                             "over those and their mirror images (written in the card; the ONNX files are the same)")
    parser.add_argument("--check", action="store_true",
                        help="after export, compare onnxruntime with torch on random inputs")


def run(args) -> int:
    """Export; a user error (no such run, a run of another format, a bad --out) is one stderr line, exit 2."""
    if (args.run is None) == (args.untrained is None):
        print("export: give either a training run folder or --untrained ARCH", file=sys.stderr)
        return 2
    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"export: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from grasp_planner.learning.export import export_model, export_run

    if args.untrained:
        import torch
        from grasp_planner.learning.model import GraspCNN
        torch.manual_seed(args.seed)
        card = export_model(GraspCNN(args.untrained), args.out, seed=args.seed,
                            training={"untrained": True}, quarter_turns=args.quarter_turns)
        print(f"wrote UNTRAINED {card.file_path('full')}, encoder, head and {card.path} (with their sha256)")
        return 0
    card = export_run(args.run, args.out, quarter_turns=args.quarter_turns)
    print(f"wrote {card.file_path('full')}, {card.file_path('encoder')}, {card.file_path('head')}, {card.path} "
          f"(with their sha256)")
    if args.check:
        from grasp_planner.learning.parity import max_parity_error
        err = max_parity_error(args.run, card.path)
        print(f"max |onnxruntime - torch| on random inputs: full {err['full']:.2e}, "
              f"encoder+head {err['split']:.2e}")
        if max(err.values()) > 1e-4:
            print("export: parity check FAILED (> 1e-4)", file=sys.stderr)
            return 1
    return 0
