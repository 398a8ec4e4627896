"""``grasp-planner`` command: one sub-command per pipeline stage, each in its stage's package.

Each sub-command module defines ``add_arguments(parser)`` and ``run(args) -> int``; it is imported
only when chosen, so ``grasp-planner demo`` never imports torch and ``train`` never imports rclpy.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from grasp_planner.config_schema import ConfigError

#: sub-command -> (module, one-line help)
COMMANDS = {
    "hand": ("grasp_planner.hand.cli", "draw the hand model open and closed around a box (PNG)"),
    "generate": ("grasp_planner.data.cli_generate", "generate the simulated grasp database (HDF5 shards)"),
    "stats": ("grasp_planner.data.cli_stats", "label statistics and example images of a database"),
    "train": ("grasp_planner.learning.cli_train", "train the mix-in CNN on a database"),
    "export": ("grasp_planner.learning.cli_export", "export a training run to ONNX with its model card"),
    "mine-labels": ("grasp_planner.planning.cli_mine_labels",
                    "label the planner's answers on a label store's scenes (training data where it goes)"),
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
    try:
        module = importlib.import_module(module_name)  # torch's import alone takes seconds: Ctrl-C can land here
        parser = argparse.ArgumentParser(prog=f"grasp-planner {ns.command}", description=text)
        module.add_arguments(parser)
        return int(module.run(parser.parse_args(argv[1:])) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback (finished shards and batches are kept)
        _close_progress_bars()
        print(f"grasp-planner {ns.command}: interrupted", file=sys.stderr)
        return 130
    except ConfigError as exc:  # a config file no sub-command caught: still one line, exit 2
        _close_progress_bars()
        print(f"grasp-planner {ns.command}: {exc}", file=sys.stderr)
        return 2


def _close_progress_bars() -> None:
    """End open tqdm bars, so that the message after them starts a line of its own."""
    tqdm_module = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm_module, "tqdm", None), "_instances", ())):
        bar.close()


if __name__ == "__main__":
    sys.exit(main())
