"""End-to-end latency of grasp_planner_node: image + camera info + initial pose published -> `grasp` received.

Starts the node as a subprocess on a private DDS domain, sends the same 128x128 scene N times
(one request at a time), and reports p50/p95 latency, the node's CPU time per request (what the
request cost the node whatever else shared the core: about its latency on an idle core, less the
transport), the node's peak RSS (VmHWM), how many plans the time budget stopped, and for every
request that got no grasp, the reason the node logged.

The image topic is best effort (as cameras publish). A 640x480 16UC1 image (614 KB) is more than
Fast DDS's default 512 KB shared-memory segment, so it goes as UDP fragments, and under load 20-30 %
of such samples are lost (a lost first image: the node answers NO_IMAGE; issue 18's "3 of 10"). Both
processes therefore use config/fastdds_large_images.xml (an 8 MB segment) unless
``--default-transport``; the first request is repeated until the node has planned once, and a
request that gets no grasp is reported with the node's reason rather than waited on.

    source scripts/ros_env.sh .venv interfaces_install
    python benchmarks/bench_node_latency.py --n 20 [--model models/grasp_cnn.json] [--out bench.json]
    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_node_latency.py --camera --n 20   # 640x480 16UC1

``--camera`` sends a bundled 640x480 16UC1 camera scene (tilt 30) with its initial pose instead.

Without --model (and no models/grasp_cnn.json) an untrained model is exported first: latency
then measures the plumbing and the optimizer's cost, not grasp quality.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def start_node(tmp: Path, model, params: list, default_transport: bool = False):
    """The node as a process of its own on a private localhost DDS domain: (process, log path).

    ``params`` are ``NAME:=VALUE`` strings on top of the shipped params file and a planner config
    that accepts any score. Unless ``default_transport``, both sides get the Fast DDS profile whose
    shared-memory segment holds a whole 640x480 image (config/fastdds_large_images.xml).
    """
    planner_yaml = tmp / "planner.yaml"
    planner_yaml.write_text("planner:\n  min_probability: 0.0\n")
    env = dict(os.environ, ROS_DOMAIN_ID=str(100 + os.getpid() % 100), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    if not default_transport:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(ROOT / "config" / "fastdds_large_images.xml")
    os.environ.update(env)
    log_path = tmp / "node.log"
    command = [sys.executable, "-m", "grasp_planner.ros.node", "--ros-args",
               "--params-file", str(ROOT / "config" / "grasp_planner.yaml"),
               "-p", f"model_path:={model}", "-p", f"planner_config:={planner_yaml}"]
    with open(log_path, "w") as log:   # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(command + [a for kv in params for a in ("-p", kv)], env=env, stdout=log, stderr=log)
    return proc, log_path


def status_mb(pid: int, field: str) -> float:
    """A kB field of /proc/<pid>/status (VmRSS: resident now, VmHWM: its peak) in MB; nan if absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    return status_mb(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, s: what a request costs it whatever else shares the core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def untrained_model(folder: Path) -> Path:
    import torch
    from grasp_planner.learning.export import export_model
    from grasp_planner.learning.model import GraspCNN

    torch.manual_seed(0)
    return export_model(GraspCNN(), folder / "grasp_cnn.onnx").path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--model", default="")
    ap.add_argument("--time-budget", type=float, default=1.0)
    ap.add_argument("--out", default="")
    ap.add_argument("--camera", action="store_true", help="a bundled 640x480 16UC1 scene with its initial pose")
    ap.add_argument("--set", action="append", default=[], metavar="NAME:=VALUE",
                    help="another node parameter, e.g. --set starts:=1 --set n_candidates:=1 (repeatable)")
    ap.add_argument("--default-transport", action="store_true",
                    help="Fast DDS as installed (512 KB shared memory: a 614 KB image goes as UDP fragments)")
    args = ap.parse_args()

    import rclpy
    from geometry_msgs.msg import PoseStamped
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from grasp_planner.camera import PinholeCamera
    from grasp_planner.pose import Pose
    from grasp_planner.ros import conversions as conv

    tmp = Path(tempfile.mkdtemp(prefix="gp_bench_"))
    model = Path(args.model) if args.model else ROOT / "models" / "grasp_cnn.json"
    trained = model.is_file()
    if not trained:
        model = untrained_model(tmp)
    proc, log_path = start_node(tmp, model, [f"time_budget_s:={args.time_budget}", *args.set],
                                args.default_transport)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("gp_bench", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    camera = PinholeCamera.from_fov(128, 128, np.deg2rad(40.0))
    depth = np.full(camera.shape, 0.55, dtype=np.float32)
    depth[54:74, 54:74] = 0.49
    initial = Pose(np.eye(3), [0, 0, 0.41])
    if args.camera:
        from grasp_planner.perception.scenes import bundled_scene_paths, load_scene
        scene = load_scene([p for p in bundled_scene_paths() if "tilt30" in p.name][0])
        camera, depth, initial = scene.camera, scene.depth_mm(), scene.initial_pose
    frame = "camera_depth_optical_frame"
    image_pub = node.create_publisher(Image, "depth/image", qos_profile_sensor_data)
    info_pub = node.create_publisher(CameraInfo, "depth/camera_info", qos_profile_sensor_data)
    pose_pub = node.create_publisher(PoseStamped, "initial_pose", 1)
    got = []
    node.create_subscription(PoseStamped, "grasp", lambda m: got.append(time.perf_counter()), 1)

    def node_lines(start):
        """The node's log lines after character ``start``."""
        return log_path.read_text()[start:].splitlines()

    def spin_until(done, timeout):
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:   # never past ``end``: the 5 ms below stay 5 ms
            executor.spin_once(timeout_sec=max(0.0, min(0.01, end - time.monotonic())))
        return done()

    latencies, missed, stopped, cpu = [], {}, 0, []

    def request():
        image = conv.array_to_image_msg(depth, frame, node.get_clock().now().to_msg())
        info = conv.camera_to_camera_info_msg(camera, frame)
        before, mark, cpu_start = len(got), len(log_path.read_text()), cpu_seconds(proc.pid)
        start = time.perf_counter()
        image_pub.publish(image)
        info_pub.publish(info)
        spin_until(lambda: False, 0.005)   # image and pose are separate topics: let the image land first
        pose_pub.publish(conv.pose_to_pose_stamped_msg(initial, frame))
        answered = lambda: len(got) > before or any("plan " in line for line in node_lines(mark))  # noqa: E731
        spin_until(answered, 10.0 + 10.0 * args.time_budget)
        spin_until(lambda: len(got) > before, 0.2)    # a success logs before it publishes
        lines = [line for line in node_lines(mark) if "plan " in line]
        cpu.append(cpu_seconds(proc.pid) - cpu_start)
        return (got[-1] - start if len(got) > before else None), (lines[0] if lines else "no reply")

    try:
        ready = (lambda: pose_pub.get_subscription_count() > 0 and image_pub.get_subscription_count() > 0
                 and info_pub.get_subscription_count() > 0 and "ready" in log_path.read_text())
        if not spin_until(ready, 60):
            raise SystemExit("node did not start:\n" + log_path.read_text())
        end = time.monotonic() + 60.0
        while request()[0] is None and time.monotonic() < end:   # warm-up: until the node has an image
            pass
        cpu.clear()
        for i in range(args.n):
            latency, line = request()
            if latency is None:
                reason = re.search(r"\(([A-Z_]+)\)", line)
                missed[reason.group(1) if reason else line] = missed.get(reason.group(1) if reason else line, 0) + 1
            else:
                latencies.append(latency)
                stopped += "time budget" in line
        rss = peak_rss_mb(proc.pid)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        proc.send_signal(subprocess.signal.SIGINT)
        proc.wait(10)
    lat = np.array(latencies) * 1000.0
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    if not len(lat):
        raise SystemExit(f"no request got a grasp: {missed}")
    report = {"n_requested": args.n, "n_received": len(lat), "no_grasp_reasons": missed,
              "stopped_by_budget": stopped, "p50_ms": float(np.percentile(lat, 50)),
              "p95_ms": float(np.percentile(lat, 95)), "max_ms": float(lat.max()), "node_peak_rss_mb": rss,
              "node_cpu_ms_per_request": {"p50": float(np.percentile(cpu, 50) * 1e3),
                                          "p95": float(np.percentile(cpu, 95) * 1e3)},
              "trained_model": trained, "time_budget_s": args.time_budget,
              "transport": "default" if args.default_transport else "fastdds_large_images.xml",
              "image": "640x480 16UC1" if args.camera else "128x128 32FC1",
              "parameters": args.set, "commit": commit, "seed": 0}
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
