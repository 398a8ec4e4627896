"""Pictures of plans a person can read at a glance (matplotlib Agg).

:func:`plot_plan` draws two panels. Left, the camera's depth image in grey (near is light) with the
best grasp as a filled, shaded hand silhouette (z-buffered from the open hand's collision boxes, so
near links hide far ones), finger A in red and labelled, the approach axis (+z) as an arrow; the
other candidates as thin outlines in colours of their own, numbered, and the start pose dashed. A
legend below gives each candidate's probability. Right, the same grasps in 3-D against the scene
points, in a frame levelled on the table plane (height above the table up), when one is found.

:func:`hand_box_corners` and :func:`draw_hand` (a plain wireframe) serve other plots (planning/evaluate.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.hand import kinematics as kin
from grasp_planner.pose import Pose

#: corner signs of a box and the 12 edges between them
_CORNERS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
_EDGES = [(i, j) for i in range(8) for j in range(i + 1, 8) if np.sum(_CORNERS[i] != _CORNERS[j]) == 1]
#: the 12 triangles of a box over ``_CORNERS`` (two per face) and its 6 faces as corner quads
_QUADS = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
BOX_TRIANGLES = np.array([t for a, b, c, d in _QUADS for t in ((a, b, c), (a, c, d))])

#: the hand's parts: palm, finger A (the lone finger, +x), fingers B and C
PARTS = ("palm", "a", "b", "c")
PART_OF_LINK = np.array([0 if name == "palm" else PARTS.index(name.split("_")[1]) for name in kin.LINK_NAMES])
#: colours of the best grasp's parts: finger A stands out in red
BEST_COLOURS = {"palm": "#62d27a", "a": "#e8333a", "b": "#1d7a34", "c": "#1d7a34"}
#: opacity of the best grasp's palm (see-through: the fingers and the object show under it)
PALM_ALPHA = 0.42
#: outline colours of the further candidates (2nd, 3rd, ...), none green or red
OTHER_COLOURS = ("#ffb000", "#3fa7ff", "#ff6ad5", "#b68cff", "#00d0c0", "#ffd966")
START_COLOUR = "#ffffff"
PATH_COLOUR = "#ffe14d"
#: the canvas beyond the camera image's edges (drawn when the hands reach past them)
OUTSIDE_COLOUR = (0.93, 0.93, 0.93)
#: length of the drawn approach arrow, m
APPROACH_ARROW_M = 0.06


def _matrix(T) -> np.ndarray:
    return T.matrix() if isinstance(T, Pose) else np.asarray(T, dtype=float)


def hand_box_corners(T_cam_hand, q=None) -> np.ndarray:
    """Corners ``(L, 8, 3)`` of every link box of the hand (open by default), camera frame, m."""
    return kin.box_corners(_matrix(T_cam_hand), kin.open_configuration("basic") if q is None else q)


def draw_hand(ax, camera: PinholeCamera, T_cam_hand, color: str, label: str | None = None, lw: float = 0.8):
    """Project the hand's boxes into the image on ``ax``: a wireframe plus the palm origin."""
    corners = hand_box_corners(T_cam_hand)
    u, v, z = camera.project(corners.reshape(-1, 3))
    u, v, z = (a.reshape(corners.shape[:2]) for a in (u, v, z))
    for link in range(len(corners)):
        for i, j in _EDGES:
            if z[link, i] > 0 and z[link, j] > 0:
                ax.plot([u[link, i], u[link, j]], [v[link, i], v[link, j]], color=color, lw=lw)
    pu, pv, _ = camera.project(_matrix(T_cam_hand)[:3, 3][None])
    ax.plot(pu, pv, "o", color=color, ms=4, label=label)


def hand_part_depths(camera: PinholeCamera, T_cam_hand) -> np.ndarray:
    """The open hand's parts rendered into the image: ``(4, H, W)`` depth, one image per :data:`PARTS`.

    Each part (palm, finger A, B, C) is z-buffered from its links' collision boxes with
    data/render.py; 0 where the part is not seen.
    """
    from grasp_planner.data.render import render_depth

    corners = hand_box_corners(T_cam_hand)
    depths = np.zeros((len(PARTS),) + camera.shape, np.float32)
    for k in range(len(PARTS)):
        links = np.flatnonzero(PART_OF_LINK == k)
        triangles = (BOX_TRIANGLES[None] + 8 * np.arange(len(links))[:, None, None]).reshape(-1, 3)
        depths[k] = render_depth(corners[links].reshape(-1, 3), triangles, camera)
    return depths


def fingers_over_palm(depths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(depth, part)`` images: the fingers z-buffered among themselves and laid over the palm.

    Seen from the camera the back of the palm would hide fingers B and C and the object they close
    on; drawing the fingers over a see-through palm keeps what matters in view. ``part`` indexes
    :data:`PARTS`, -1 off the hand.
    """
    fingers = np.where(depths[1:] > 0, depths[1:], np.inf)
    nearest = np.argmin(fingers, axis=0)
    on_finger = np.isfinite(np.min(fingers, axis=0))
    part = np.where(on_finger, nearest + 1, np.where(depths[0] > 0, 0, -1)).astype(np.int8)
    depth = np.where(on_finger, np.min(np.where(on_finger, fingers, 0.0), axis=0), depths[0])
    return depth.astype(np.float32), part


def _shading(camera: PinholeCamera, depth: np.ndarray) -> np.ndarray:
    """Lambert shading (0..1) of a rendered surface lit from the camera, from its per-pixel normals."""
    points = camera.pixel_rays() * depth[..., None]
    du, dv = np.gradient(points, axis=1), np.gradient(points, axis=0)
    normal = np.cross(du, dv)
    norm = np.linalg.norm(normal, axis=-1)
    rays = camera.pixel_rays()
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shade = np.abs(np.einsum("hwc,hwc->hw", normal, rays)) / norm
    return np.nan_to_num(shade, nan=1.0)


def _silhouette_rgba(camera: PinholeCamera, depth: np.ndarray, part: np.ndarray) -> np.ndarray:
    """An RGBA overlay: each part in its colour, shaded by its faces' angle to the camera; the palm see-through."""
    from matplotlib.colors import to_rgb

    rgba = np.zeros(camera.shape + (4,))
    shade = 0.5 + 0.5 * _shading(camera, depth)
    for k, name in enumerate(PARTS):
        sel = part == k
        rgba[sel, :3] = np.asarray(to_rgb(BEST_COLOURS[name]))[None] * shade[sel, None]
        rgba[sel, 3] = PALM_ALPHA if name == "palm" else 0.92
    return np.clip(rgba, 0.0, 1.0)


def _outlined(artist, width: float = 3.0, colour: str = "black"):
    import matplotlib.patheffects as pe
    artist.set_path_effects([pe.Stroke(linewidth=width, foreground=colour), pe.Normal()])
    return artist


def _draw_approach(ax, camera: PinholeCamera, T_cam_hand, colour: str = "white"):
    """The approach axis (+z of the hand) as an arrow from the palm origin."""
    T = _matrix(T_cam_hand)
    ends = np.stack([T[:3, 3], T[:3, 3] + APPROACH_ARROW_M * T[:3, 2]])
    u, v, z = camera.project(ends)
    if np.all(z > 0):
        ax.annotate("", xy=(u[1], v[1]), xytext=(u[0], v[0]), zorder=6,
                    arrowprops=dict(arrowstyle="-|>,head_width=0.45,head_length=0.9", color=colour, lw=2.2,
                                    shrinkA=0, shrinkB=0))
        ax.plot(u[:1], v[:1], "o", ms=6, mfc=colour, mec="black", mew=1.0, zorder=7)


def finger_a_label_point(T_cam_hand) -> np.ndarray:
    """Where to write "A": 2.5 cm beyond finger A's distal link along the hand's +x, camera frame."""
    T = _matrix(T_cam_hand)
    tip = kin.link_transforms(T, kin.open_configuration("basic"))["finger_a_link_3"]
    return tip[:3, 3] + 0.025 * T[:3, 0]


def _label_finger_a(ax, camera: PinholeCamera, T_cam_hand):
    """Write "A" beside finger A's tip."""
    u, v, z = camera.project(finger_a_label_point(T_cam_hand)[None])
    if z[0] > 0:
        ax.text(u[0], v[0], "A", color="white", fontsize=11, weight="bold", ha="center", va="center", zorder=8,
                bbox=dict(boxstyle="circle,pad=0.2", fc=BEST_COLOURS["a"], ec="black", lw=0.8))


def _outline(ax, mask: np.ndarray, colour: str, lw: float, linestyle: str = "solid", alpha: float = 1.0):
    if mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=lw, linestyles=linestyle,
                   alpha=alpha, zorder=4)


def _number(ax, mask: np.ndarray, away_from, text: str, colour: str):
    """Write a candidate's rank on its outline, at the point farthest from the best grasp's palm."""
    rows, cols = np.nonzero(mask)
    if not len(rows):
        return
    if away_from is None:
        i = int(np.argmin(rows))
    else:
        i = int(np.argmax((cols - away_from[0]) ** 2 + (rows - away_from[1]) ** 2))
    _outlined(ax.text(cols[i], rows[i], text, color=colour, fontsize=10, weight="bold", ha="center",
                      va="center", zorder=6), 3.0)


def _grasp_text(k: int, grasp) -> str:
    rank = "1 (best)" if k == 0 else str(k + 1)
    return f"grasp {rank}: p(robust) = {grasp.probability:.2f}   (logit {grasp.score:+.2f})"


def _grey_depth(camera: PinholeCamera, depth: np.ndarray) -> tuple[np.ndarray, object]:
    """The depth image as grey RGB, near light, with hill shading so object edges stand out on a tilted table.

    Returns ``(rgb (H, W, 3), mappable)``; the mappable carries the depth scale for a colour bar.
    Pixels without a return are dark blue.
    """
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LightSource, ListedColormap, Normalize
    from scipy.ndimage import distance_transform_edt, gaussian_filter

    valid = np.isfinite(depth) & (depth > 0)
    lo, hi = np.percentile(depth[valid], [1, 99]) if valid.any() else (0.0, 1.0)
    hi = max(hi, lo + 1e-3)
    filled = depth
    if valid.any() and not valid.all():  # holes take their nearest valid depth, for the shading only
        nearest = distance_transform_edt(~valid, return_distances=False, return_indices=True)
        filled = depth[tuple(nearest)]
    cmap = ListedColormap(plt.get_cmap("gray_r")(np.linspace(0.04, 0.72, 256)))  # white to mid grey, never black
    norm = Normalize(lo, hi)
    pixel_m = float(np.median(filled[valid])) / camera.fx if valid.any() else 1.0
    base = cmap(norm(np.nan_to_num(filled)))[..., :3]
    elevation = gaussian_filter(-np.nan_to_num(filled), 1.5)  # near is high; smoothed so noise does not speckle
    rgb = LightSource(azdeg=315, altdeg=50).shade_rgb(base, elevation, fraction=0.8, blend_mode="soft",
                                                      vert_exag=1.0 / pixel_m)
    rgb[~valid] = (0.17, 0.23, 0.33)
    return rgb, ScalarMappable(norm=norm, cmap=cmap)


def _canvas(camera: PinholeCamera, depth: np.ndarray, poses, max_pad: float = 0.8, margin: float = 0.04):
    """The image grown (by at most ``max_pad`` of its size a side) so the drawn hands fit on it.

    A network view is fitted tightly around the object, so the open hand reaches past its edges.
    Returns ``(camera, depth, inside, (left, top))``: the grown camera (same focal lengths), the depth
    with 0 outside the image, the mask of the image's own pixels and the image's offset on the canvas.
    """
    W, H = camera.width, camera.height
    pads = np.zeros(4)  # left, top, right, bottom
    if poses:
        u, v, z = camera.project(np.concatenate([hand_box_corners(T).reshape(-1, 3) for T in poses]))
        u, v = u[z > 0], v[z > 0]
        if len(u):
            pads = np.array([-u.min(), -v.min(), u.max() - (W - 1), v.max() - (H - 1)])
    size = np.array([W, H, W, H], dtype=float)
    pads = np.where(pads > 0, np.ceil(np.minimum(pads, max_pad * size) + margin * size), 0).astype(int)
    left, top, right, bottom = (int(p) for p in pads)
    grown = PinholeCamera(camera.fx, camera.fy, camera.cx + left, camera.cy + top, W + left + right, H + top + bottom)
    canvas = np.zeros(grown.shape)
    canvas[top:top + H, left:left + W] = depth
    inside = np.zeros(grown.shape, bool)
    inside[top:top + H, left:left + W] = True
    return grown, canvas, inside, (left, top)


def _image_panel(ax, fig, depth, camera, initial_pose, grasps, trajectory):
    from matplotlib.patches import Rectangle

    W, H = camera.width, camera.height
    poses = [g.pose for g in grasps] + ([initial_pose] if initial_pose is not None else [])
    camera, depth, inside, (left, top) = _canvas(camera, depth, poses)
    rgb, mappable = _grey_depth(camera, depth)
    rgb[~inside] = OUTSIDE_COLOUR
    ax.imshow(rgb, interpolation="nearest")
    if not inside.all():
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), W, H, fill=False, ec="black", lw=1.0, zorder=2))
        ax.text(left, top - 1.5, "image edge", fontsize=7, va="bottom", zorder=2)
    fig.colorbar(mappable, ax=ax, fraction=0.04, pad=0.02, label="depth (m); blue: no return")
    masks = []
    if initial_pose is not None:
        _outline(ax, hand_part_depths(camera, initial_pose).max(axis=0) > 0, START_COLOUR, 1.0, "dashed", 0.8)
    best_uv = None
    if len(grasps):
        u, v, _ = camera.project(_matrix(grasps[0].pose)[:3, 3][None])
        best_uv = np.array([u[0], v[0]])
    for k in range(len(grasps) - 1, 0, -1):  # the further candidates, thin outlines under the best
        mask = hand_part_depths(camera, grasps[k].pose).max(axis=0) > 0
        colour = OTHER_COLOURS[(k - 1) % len(OTHER_COLOURS)]
        _outline(ax, mask, colour, 1.5, "solid", 0.95)
        _number(ax, mask, best_uv, str(k + 1), colour)
        masks.append(mask)
    if len(trajectory):
        palm = np.array([_matrix(p)[:3, 3] for p in trajectory])
        u, v, _ = camera.project(palm)
        ax.plot(u, v, ".-", color=PATH_COLOUR, ms=2.5, lw=0.8, zorder=5)
    if len(grasps):
        hand_depth, part = fingers_over_palm(hand_part_depths(camera, grasps[0].pose))
        ax.imshow(_silhouette_rgba(camera, hand_depth, part), interpolation="nearest", zorder=3)
        _outline(ax, part >= 0, "black", 1.0)
        _outline(ax, part >= 1, "black", 0.7)
        _draw_approach(ax, camera, grasps[0].pose)
        _label_finger_a(ax, camera, grasps[0].pose)
        masks.append(part >= 0)
    _crop_to(ax, camera, masks)
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title("camera view (depth in grey, near is light)", fontsize=9)


def _crop_to(ax, camera: PinholeCamera, masks, min_fraction: float = 0.55, margin: float = 0.35):
    """Zoom the image on the drawn hands, never closer than ``min_fraction`` of the image."""
    W, H = camera.width, camera.height
    if not masks:
        ax.set_xlim(-0.5, W - 0.5), ax.set_ylim(H - 0.5, -0.5)
        return
    rows, cols = np.nonzero(np.any(masks, axis=0))
    if not len(rows):
        ax.set_xlim(-0.5, W - 0.5), ax.set_ylim(H - 0.5, -0.5)
        return
    cu, cv = (cols.min() + cols.max()) / 2, (rows.min() + rows.max()) / 2
    half = max((cols.max() - cols.min()) / W, (rows.max() - rows.min()) / H) * (0.5 + margin)
    half = min(max(half, min_fraction / 2), 0.5)
    hw, hh = half * W, half * H
    cu, cv = np.clip(cu, hw - 0.5, W - 0.5 - hw), np.clip(cv, hh - 0.5, H - 0.5 - hh)
    ax.set_xlim(cu - hw, cu + hw), ax.set_ylim(cv + hh, cv - hh)


def table_frame(points: np.ndarray, table: bool = True) -> np.ndarray:
    """``T_table_camera`` (4x4): z up along the fitted table normal, x along the camera's x on the table.

    Without a table (``table=False``, or no plane found) z is the camera's -z and height 0 is the
    farthest point.
    """
    from grasp_planner.perception.plane import fit_table_plane

    T = np.eye(4)
    up, offset = np.array([0.0, 0.0, -1.0]), float(np.max(points[:, 2])) if len(points) else 0.0
    if table:
        try:
            plane = fit_table_plane(points, np.random.default_rng(0))
            up, offset = plane.normal, plane.offset
        except ValueError:
            pass
    x = np.array([1.0, 0.0, 0.0]) - up[0] * up
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(up, x), up])
    T[:3, :3] = R
    T[:3, 3] = [0.0, 0.0, offset]  # height above the plane: up . p + offset
    return T


@dataclass(frozen=True)
class SceneView:
    """The scene points around the best grasp in a frame levelled on the table (z: height above it)."""

    T_table_camera: np.ndarray   # 4x4
    points: np.ndarray           # (N, 3) table frame, m, at most ``max_points`` of them (seeded draw)
    centre: np.ndarray           # (3,) the view's centre, table frame
    radius: float                # half the side of the shown cube, m
    has_table: bool              # False: no table in view (a network view), z is the camera's -z

    def to_table(self, points_camera: np.ndarray) -> np.ndarray:
        return np.asarray(points_camera) @ self.T_table_camera[:3, :3].T + self.T_table_camera[:3, 3]

    def hand_corners(self, T_cam_hand) -> np.ndarray:
        """The open hand's box corners ``(L, 8, 3)`` in the table frame."""
        return self.to_table(hand_box_corners(T_cam_hand).reshape(-1, 3)).reshape(-1, 8, 3)


def scene_view(depth: np.ndarray, camera: PinholeCamera, grasps, radius: float = 0.16,
               max_points: int = 16000) -> SceneView:
    """Pick the points of the 3-D view: within ``radius`` of a point 5 cm along the best grasp's approach."""
    clean = np.where(np.isfinite(depth), depth, 0.0).astype(np.float64)
    points = camera.deproject(clean)
    # a camera image sees the table nearly everywhere; a network view's background has no return
    has_table = bool(np.mean(clean > 0) > 0.7)
    T_table_cam = table_frame(points, has_table)
    view = SceneView(T_table_cam, np.zeros((0, 3)), np.zeros(3), radius, has_table)
    if len(grasps):
        T0 = _matrix(grasps[0].pose)
        centre = view.to_table((T0[:3, 3] + 0.05 * T0[:3, 2])[None])[0]
    else:
        centre = view.to_table(np.median(points, axis=0)[None])[0] if len(points) else np.zeros(3)
    scene = view.to_table(points)
    near = np.all(np.abs(scene[:, :2] - centre[:2]) < radius, axis=1) & (scene[:, 2] < centre[2] + radius)
    scene = scene[near]
    if len(scene) > max_points:
        scene = scene[np.random.default_rng(0).choice(len(scene), max_points, replace=False)]
    return SceneView(T_table_cam, scene, centre, radius, has_table)


def _scene_panel(ax, depth, camera, grasps, initial_pose):
    """The scene points and the hands in 3-D, table frame, around the best grasp (or the scene centre)."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    view = scene_view(depth, camera, grasps)
    scene, centre, radius = view.points, view.centre, view.radius
    ax.computed_zorder = False  # hands always over the points: readable, if not exact
    if len(scene):
        ax.scatter(scene[:, 0], scene[:, 1], scene[:, 2], c=scene[:, 2], cmap="YlOrBr", s=2.0, linewidths=0,
                   vmin=-0.02, vmax=max(float(np.percentile(scene[:, 2], 99.5)), 0.05), zorder=1)
    for k in range(len(grasps) - 1, 0, -1):
        colour = OTHER_COLOURS[(k - 1) % len(OTHER_COLOURS)]
        for link in view.hand_corners(grasps[k].pose):
            for i, j in _EDGES:
                ax.plot(*link[[i, j]].T, color=colour, lw=0.7, alpha=0.8, zorder=2)
    if initial_pose is not None:
        for link in view.hand_corners(initial_pose):
            for i, j in _EDGES:
                ax.plot(*link[[i, j]].T, color="#888888", lw=0.5, ls="--", zorder=2)
    if len(grasps):
        corners = view.hand_corners(grasps[0].pose)
        for k, name in enumerate(PARTS):  # the palm first and see-through, the fingers over it
            faces = [link[list(q)] for link in corners[PART_OF_LINK == k] for q in _QUADS]
            ax.add_collection3d(Poly3DCollection(faces, facecolors=BEST_COLOURS[name], edgecolors="#1a1a1a",
                                                 linewidths=0.4, alpha=PALM_ALPHA if k == 0 else 0.95,
                                                 zorder=3 + (k > 0)))
        T0 = _matrix(grasps[0].pose)
        palm = view.to_table(T0[:3, 3][None])[0]
        direction = view.T_table_camera[:3, :3] @ T0[:3, 2] * APPROACH_ARROW_M
        ax.quiver(*palm, *direction, color="black", lw=2.0, arrow_length_ratio=0.3, zorder=5)
        ax.text(*view.to_table(finger_a_label_point(T0)[None])[0], "A", color=BEST_COLOURS["a"], fontsize=11,
                weight="bold", zorder=6)
    ax.set_xlim(centre[0] - radius, centre[0] + radius)
    ax.set_ylim(centre[1] - radius, centre[1] + radius)
    top = max(centre[2] + radius * 0.9, 0.1)
    ax.set_zlim(-0.01, top)
    ax.set_box_aspect((2 * radius, 2 * radius, top + 0.01))
    ax.view_init(elev=28, azim=-62)
    ax.set_xlabel("x (m)", fontsize=7, labelpad=-4), ax.set_ylabel("y (m)", fontsize=7, labelpad=-4)
    ax.set_zlabel("height above table (m)" if view.has_table else "height (m)", fontsize=7, labelpad=-2)
    ax.tick_params(labelsize=6, pad=-2)
    ax.set_title("3-D: the hands against the scene points (coloured by height)", fontsize=9)


def plot_plan(path, depth: np.ndarray, camera: PinholeCamera, initial_pose, grasps, title: str = "",
              trajectory=()) -> Path:
    """Write a PNG of one plan: the camera view and a 3-D view, the best grasp drawn solid, a legend below."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    depth = np.asarray(depth, dtype=float)
    grasps = list(grasps)
    fig = plt.figure(figsize=(13.0, 6.4))
    grid = fig.add_gridspec(1, 2, width_ratios=(1.12, 1.0), left=0.02, right=0.99, top=0.9, bottom=0.17, wspace=0.05)
    image_ax = fig.add_subplot(grid[0])
    scene_ax = fig.add_subplot(grid[1], projection="3d")
    _image_panel(image_ax, fig, depth, camera, initial_pose, grasps, trajectory)
    _scene_panel(scene_ax, depth, camera, grasps, initial_pose)
    handles = []
    if grasps:
        handles.append(Patch(fc=BEST_COLOURS["palm"], ec="black", label=_grasp_text(0, grasps[0])))
        handles.append(Patch(fc=BEST_COLOURS["a"], ec="black", label="finger A (the lone finger, +x)"))
        handles.append(Line2D([], [], color="white", marker="$\u2192$", ms=14, mec="black", ls="",
                              label="approach axis (+z) from the palm centre"))
    for k in range(1, len(grasps)):
        handles.append(Line2D([], [], color=OTHER_COLOURS[(k - 1) % len(OTHER_COLOURS)], lw=2.2,
                              label=_grasp_text(k, grasps[k])))
    if initial_pose is not None:
        handles.append(Line2D([], [], color="#999999", lw=1.2, ls="--", label="start pose"))
    if len(trajectory):
        handles.append(Line2D([], [], color=PATH_COLOUR, marker=".", lw=0.8, mec="#b59a00",
                              label="palm path of the best run"))
    if not grasps:
        handles.append(Patch(fc="none", ec="none", label="no grasp returned"))
    legend = fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8.5, frameon=True,
                        bbox_to_anchor=(0.5, 0.005), facecolor="#f4f4f4")
    legend.get_frame().set_edgecolor("#bbbbbb")
    fig.suptitle(title, fontsize=11)
    path = Path(path)  # laid out by hand above (tight_layout knows neither the 3-D panel nor a figure legend)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
