"""``grasp-planner`` command: one sub-command per pipeline stage, each in its stage's package.

Each sub-command module defines ``add_arguments(parser)`` and ``run(args) -> int``; it is imported
only when chosen, so ``grasp-planner demo`` never imports torch and ``train`` never imports rclpy.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command -> (module, one-line help)
COMMANDS = {
    "hand": ("grasp_planner.hand.cli", "draw the hand model open and closed around a box (PNG)"),
    "generate": ("grasp_planner.data.cli_generate", "generate the simulated grasp database (HDF5 shards)"),
    "stats": ("grasp_planner.data.cli_stats", "label statistics and example images of a database"),
    "train": ("grasp_planner.learning.cli_train", "train the mix-in CNN on a database"),
    "export": ("grasp_planner.learning.cli_export", "export a training run to ONNX with its model card"),
    "plan": ("grasp_planner.planning.cli_plan", "plan grasps on a depth image (.npz scene)"),
    "evaluate": ("grasp_planner.planning.cli_evaluate", "the paper's optimization evaluation on unseen objects"),
    "demo": ("grasp_planner.planning.cli_demo", "plan grasps on the bundled scenes and write pictures"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top = argparse.ArgumentParser(prog="grasp-planner", description=__doc__.splitlines()[0])
    top.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                     help="; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items()))
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return 0 if argv else 2
    ns, rest = top.parse_known_args(argv[:1])
    module_name, text = COMMANDS[ns.command]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"grasp-planner {ns.command}", description=text)
    module.add_arguments(parser)
    try:
        return int(module.run(parser.parse_args(argv[1:])) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback (finished shards and batches are kept)
        print(f"grasp-planner {ns.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
