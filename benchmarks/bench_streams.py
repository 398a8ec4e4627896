"""A camera stream against a real grasp_planner_node over DDS: 30 Hz images, 5 Hz requests, for a minute.

Starts the node as a subprocess on a private DDS domain with ``max_image_age_s`` set to the
limit (100 ms), so the node itself refuses (STALE_IMAGE) any request whose latest image is older;
publishes the bundled 640x480 16UC1 tilt-30 scene at 30 Hz, freshly stamped, and its initial pose
at 5 Hz; and reports every request's outcome as the node logged it (a plan, or a refusal with its
reason: BUSY when a plan was still running, STALE_IMAGE, ...), the age of each grasp's image
when the grasp arrives (receipt time minus the image stamp it carries: the image's age at the
request plus the plan's latency), and the node's memory (VmRSS after a warm-up of stream and
requests, and at the end; VmHWM; and once a second, so that a plateau and a leak look different).
The warm-up is 15 s: the node's RSS climbs during its first ~10 s of stream (allocator, onnxruntime
arenas) and is flat after that (150 s after a 5 s warm-up: +2.2 MB).

    source scripts/ros_env.sh .venv interfaces_install
    python benchmarks/bench_streams.py [--seconds 60] [--time-budget 0.15] [--out streams.json] [--png streams.png]

Both processes use config/fastdds_large_images.xml (a shared-memory segment that holds a whole image)
unless ``--default-transport``: with Fast DDS's 512 KB default, 614 KB images go as UDP fragments and
under load some are lost, which a 100 ms limit then reports as STALE_IMAGE.

Pass: every request planned (no refusal), none on an image older than the limit, RSS growth <= 10 MB.
The time budget must leave a plan inside the 200 ms between requests, or the next one meets BUSY.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_node_latency import peak_rss_mb, start_node, status_mb  # noqa: E402


def rss_mb(pid: int) -> float:
    return status_mb(pid, "VmRSS")


def outcomes(log_text: str) -> dict:
    """Counts of the node's plan log lines by outcome: NONE for a plan that succeeded, else the reason."""
    counts = {}
    for line in log_text.splitlines():
        if "plan succeeded" in line:
            key = "NONE"
        else:
            match = re.search(r"plan (?:failed|refused) \(([A-Z_]+)\)", line)
            if not match:
                continue
            key = match.group(1)
        counts[key] = counts.get(key, 0) + 1
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=30.0, help="images per second")
    ap.add_argument("--request-rate", type=float, default=5.0)
    ap.add_argument("--max-age", type=float, default=0.1, help="the image age limit, s")
    ap.add_argument("--time-budget", type=float, default=0.15)
    ap.add_argument("--model", default=str(ROOT / "models" / "grasp_cnn.json"))
    ap.add_argument("--warmup", type=float, default=15.0,
                    help="s of stream and requests before anything is counted and memory is first read")
    ap.add_argument("--out", default="")
    ap.add_argument("--png", default="", help="each grasp's image age and the node's RSS over the run")
    ap.add_argument("--default-transport", action="store_true",
                    help="Fast DDS as installed (512 KB shared memory: a 614 KB image goes as UDP fragments)")
    args = ap.parse_args()

    import rclpy
    from geometry_msgs.msg import PoseStamped
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from grasp_planner.perception.scenes import bundled_scene_paths, load_scene
    from grasp_planner.ros import conversions as conv

    tmp = Path(tempfile.mkdtemp(prefix="gp_streams_"))
    proc, log_path = start_node(tmp, args.model, [f"time_budget_s:={args.time_budget}",
                                                  f"max_image_age_s:={args.max_age}"], args.default_transport)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("gp_streams", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    scene = load_scene([p for p in bundled_scene_paths() if "tilt30" in p.name][0])
    frame, depth = "camera_depth_optical_frame", scene.depth_mm()
    image_pub = node.create_publisher(Image, "depth/image", qos_profile_sensor_data)
    info_pub = node.create_publisher(CameraInfo, "depth/camera_info", qos_profile_sensor_data)
    pose_pub = node.create_publisher(PoseStamped, "initial_pose", 1)
    ages, arrivals, trace = [], [], []    # trace: (s since the stream began, RSS MB)

    def on_grasp(msg):
        ages.append((node.get_clock().now() - rclpy.time.Time.from_msg(msg.header.stamp)).nanoseconds * 1e-9)
        arrivals.append(time.monotonic())
    node.create_subscription(PoseStamped, "grasp", on_grasp, 10)
    info = conv.camera_to_camera_info_msg(scene.camera, frame)
    pose = conv.pose_to_pose_stamped_msg(scene.initial_pose, frame)

    def spin_for(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=max(0.0, min(0.005, end - time.monotonic())))

    requests, rss_start = 0, None
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and not (pose_pub.get_subscription_count() > 0 and "ready" in log_path.read_text()
                                              and image_pub.get_subscription_count() > 0):
            spin_for(0.05)
        if time.monotonic() >= end:
            raise SystemExit("node did not start:\n" + log_path.read_text())
        start = time.monotonic()
        next_image, next_request, next_sample, warm_mark = start, start + 0.5, start, 0
        while time.monotonic() - start < args.warmup + args.seconds:
            now = time.monotonic()
            if now >= next_sample:
                trace.append((now - start, rss_mb(proc.pid)))
                next_sample += 1.0
            if now >= next_image:
                image_pub.publish(conv.array_to_image_msg(depth, frame, node.get_clock().now().to_msg()))
                info_pub.publish(info)
                next_image += 1.0 / args.rate
            if now >= next_request:
                if rss_start is None and now - start >= args.warmup:   # warmed up: count and measure from here
                    rss_start, warm_mark = rss_mb(proc.pid), len(log_path.read_text())
                    ages[:], arrivals[:] = [], []
                pose_pub.publish(pose)
                requests += rss_start is not None
                next_request += 1.0 / args.request_rate
            spin_for(max(0.0, min(next_image, next_request) - time.monotonic()))
        spin_for(2.0 + args.time_budget)      # the last plan's reply
        rss_end, hwm = rss_mb(proc.pid), peak_rss_mb(proc.pid)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        proc.send_signal(subprocess.signal.SIGINT)
        proc.wait(10)
    counts = outcomes(log_path.read_text()[warm_mark:])
    refused = {k: v for k, v in counts.items() if k in ("BUSY", "STALE_IMAGE", "NO_IMAGE", "TF_UNAVAILABLE")}
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    report = {"seconds": args.seconds, "image_rate_hz": args.rate, "request_rate_hz": args.request_rate,
              "requests": requests, "outcomes": counts, "refused": sum(refused.values()),
              "grasps": len(ages), "max_age_s": args.max_age,
              "age_at_grasp_ms": {"p50": float(np.percentile(ages, 50) * 1e3) if ages else None,
                                  "max": float(max(ages) * 1e3) if ages else None},
              "rss_after_warmup_mb": rss_start, "rss_end_mb": rss_end, "rss_growth_mb": rss_end - rss_start,
              "node_peak_rss_mb": hwm, "warmup_s": args.warmup, "time_budget_s": args.time_budget,
              "transport": "default" if args.default_transport else "fastdds_large_images.xml",
              "image": "640x480 16UC1",
              "commit": commit}
    report["pass"] = bool(report["refused"] == 0 and sum(counts.values()) >= requests - 1
                          and report["rss_growth_mb"] <= 10.0)
    print(json.dumps(report, indent=2))
    report["rss_trace_mb"] = [[round(t, 1), round(m, 2)] for t, m in trace]
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if args.png:
        plot(report, [a - start for a in arrivals], ages, args.png)


def plot(report: dict, arrivals, ages, path) -> None:
    """Two panels: each grasp's image age against the limit, and the node's RSS with the warm-up's end."""
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure

    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    a.plot(arrivals, np.asarray(ages) * 1e3, ".", ms=3, label="age of the grasp's image when the grasp arrives")
    a.axhline(report["max_age_s"] * 1e3, color="r", ls="--", label="limit")
    a.set_ylabel("ms")
    a.set_ylim(0, max(report["max_age_s"] * 1.5e3, max(ages, default=0) * 1.1e3))
    a.set_title(f"{report['image_rate_hz']:.0f} Hz images, {report['request_rate_hz']:.0f} Hz requests: "
                f"{report['grasps']} grasps for {report['requests']} requests, {report['refused']} refused")
    a.legend(loc="upper left", fontsize=8)
    t, m = np.array(report["rss_trace_mb"]).T
    b.plot(t, m, "-", label="node RSS")
    b.axvline(report["warmup_s"], color="grey", ls=":", label="end of warm-up")
    b.set_xlabel("s since the stream began")
    b.set_ylabel("MB")
    b.set_title(f"RSS growth after the warm-up: {report['rss_growth_mb']:+.1f} MB")
    b.legend(loc="lower right", fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":
    main()
