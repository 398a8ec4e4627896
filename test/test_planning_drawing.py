"""The plan picture (planning/drawing.py) and the interactive view (planning/scene_html.py).

Facts: the hand's parts land where the hand frame says (finger A on +x, B on +y, C on -y, the palm
around the palm centre); the fingers are drawn over the palm; the canvas grows only when a hand
reaches past the image; the 3-D view is levelled on the table of a tilted camera; the PNG shows
finger A in its red; the HTML view is self-contained and names every grasp with its probability.
"""
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from grasp_planner.camera import PinholeCamera
from grasp_planner.perception.scenes import bundled_scene_paths, load_scene
from grasp_planner.planning.drawing import (BEST_COLOURS, PARTS, _canvas, fingers_over_palm, hand_part_depths,
                                            plot_plan, scene_view)
from grasp_planner.planning.planner import PlannedGrasp
from grasp_planner.pose import Pose

CAMERA = PinholeCamera.from_fov(320, 240, np.deg2rad(70.0))
#: the hand 0.45 m in front of the camera, approaching along the optical axis, frames aligned
T_STRAIGHT = Pose(np.eye(3), [0.0, 0.0, 0.45])


def _grasp(pose, probability=0.7):
    return PlannedGrasp(pose=pose, score=float(np.log(probability / (1 - probability))), probability=probability,
                        distance=0.01, n_iter=5)


def _centroid(mask):
    rows, cols = np.nonzero(mask)
    return cols.mean(), rows.mean()


def test_each_part_is_drawn_on_its_side_of_the_hand_frame():
    depths = hand_part_depths(CAMERA, T_STRAIGHT)
    seen = {name: depths[k] > 0 for k, name in enumerate(PARTS)}
    assert all(mask.sum() > 50 for mask in seen.values()), {n: int(m.sum()) for n, m in seen.items()}
    u0, v0, _ = CAMERA.project(T_STRAIGHT.translation[None])
    assert seen["palm"][int(round(v0[0])), int(round(u0[0]))]  # the palm covers its own centre
    a, b, c = (_centroid(seen[n]) for n in "abc")
    assert a[0] > u0[0] + 10  # finger A on +x (image right)
    assert b[1] > v0[0] + 10 and c[1] < v0[0] - 10  # B on +y (image down), C on -y
    assert np.all(depths[depths > 0] > 0.3)  # the open hand lies between the camera and the palm face


def test_the_fingers_are_drawn_over_the_palm_and_nothing_off_the_hand():
    depths = hand_part_depths(CAMERA, T_STRAIGHT)
    depth, part = fingers_over_palm(depths)
    on_finger = (depths[1:] > 0).any(axis=0)
    assert np.all(part[on_finger] >= 1)  # where a finger is, the finger shows, even behind the palm
    assert np.all(part[~on_finger & (depths[0] > 0)] == 0)
    assert np.all(part[(depths == 0).all(axis=0)] == -1) and np.all(depth[part == -1] == 0)


def test_the_canvas_grows_only_when_a_hand_reaches_past_the_image():
    depth = np.full(CAMERA.shape, 0.6)
    same, canvas, inside, offset = _canvas(CAMERA, depth, [T_STRAIGHT])
    assert (same.width, same.height, offset) == (CAMERA.width, CAMERA.height, (0, 0)) and inside.all()
    narrow = PinholeCamera.from_fov(64, 64, np.deg2rad(15.0))  # a tight network view: the hand is larger
    grown, canvas, inside, (left, top) = _canvas(narrow, np.full(narrow.shape, 0.6), [T_STRAIGHT])
    assert grown.width > 64 and grown.height > 64 and left > 0 and top > 0
    assert inside.sum() == 64 * 64 and np.all(canvas[inside] == 0.6) and np.all(canvas[~inside] == 0)
    # the same point lands on the same place of the scene: the principal point moved with the padding
    assert (grown.cx - left, grown.cy - top) == (narrow.cx, narrow.cy)


def test_the_3d_view_of_a_tilted_camera_is_levelled_on_the_table():
    path = next(p for p in bundled_scene_paths() if "tilt30" in p.name)
    scene = load_scene(path)
    view = scene_view(scene.depth, scene.camera, [], radius=0.3)
    assert view.has_table
    heights = view.points[:, 2]
    assert abs(np.median(heights)) < 0.004  # most points are table, at height 0
    assert np.percentile(heights, 2) > -0.01 and heights.max() > 0.03  # the objects stand on it


def test_the_png_shows_the_best_grasp_with_finger_a_in_red(tmp_path):
    import matplotlib.image as mpimg

    depth = np.full(CAMERA.shape, 0.6, np.float32)
    depth[100:140, 140:180] = 0.52
    turned = Pose.from_xyzrpy([0.02, 0.0, 0.45, 0.0, 0.0, 0.6])
    path = plot_plan(tmp_path / "plan.png", depth, CAMERA, Pose(np.eye(3), [0, 0, 0.35]),
                     [_grasp(T_STRAIGHT, 0.8), _grasp(turned, 0.4)], "test")
    rgb = mpimg.imread(path)[..., :3]
    red = np.asarray(to_rgb(BEST_COLOURS["a"]))
    close_to_red = np.linalg.norm(rgb - red, axis=-1) < 0.15
    assert close_to_red.sum() > 200  # finger A, the legend's swatch and the "A" badge


def test_a_plan_without_grasps_still_draws_the_scene(tmp_path):
    depth = np.full(CAMERA.shape, 0.6, np.float32)
    path = plot_plan(tmp_path / "none.png", depth, CAMERA, None, [], "nothing")
    assert path.stat().st_size > 10_000


def test_the_html_view_is_self_contained_and_names_each_grasp(tmp_path):
    pytest.importorskip("plotly")
    from grasp_planner.planning.scene_html import write_plan_html

    depth = np.full(CAMERA.shape, 0.6, np.float32)
    depth[100:140, 140:180] = 0.52
    path = write_plan_html(tmp_path / "plan.html", depth, CAMERA, [_grasp(T_STRAIGHT, 0.83), _grasp(T_STRAIGHT, 0.41)])
    text = path.read_text()
    assert "grasp 1 (best): p(robust) = 0.83" in text and "grasp 2: p(robust) = 0.41" in text
    assert "<script src=\"http" not in text and "Plotly" in text  # plotly.js inside, no network needed


def test_demo_html_without_plotly_is_one_line_and_exit_2(tmp_path):
    code = ("import importlib.abc, sys\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] == 'plotly':\n"
            "            raise ImportError('blocked for this test')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from grasp_planner.cli import main\n"
            f"sys.exit(main(['demo', '--html', '--out', {str(tmp_path / 'd')!r}]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and "plotly" in out.stderr and "viz" in out.stderr
    assert not (tmp_path / "d").exists()
