"""An interactive 3-D view of one plan as a self-contained HTML file (plotly; the ``viz`` extra).

The same scene as the PNG's 3-D panel (planning/drawing.py: points around the best grasp, levelled on
the table): the best grasp's hand solid, palm see-through and finger A red; the further candidates
faint, each toggled from the legend, which gives their probabilities. plotly.js is embedded, so the
file opens in a browser without a network.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.planning.drawing import (BEST_COLOURS, BOX_TRIANGLES, OTHER_COLOURS, PALM_ALPHA, PART_OF_LINK,
                                            PARTS, finger_a_label_point, scene_view)

MISSING = "--html needs plotly: pip install 'grasp_planner[viz]' (or pip install plotly)"


def _require_plotly():
    try:
        import plotly.graph_objects as go
    except ImportError as err:
        raise RuntimeError(MISSING) from err
    return go


def _boxes_mesh(go, corners: np.ndarray, colour: str, opacity: float, name: str, group: str, legend: bool):
    """One Mesh3d of link boxes ``(L, 8, 3)`` (12 triangles each)."""
    triangles = (BOX_TRIANGLES[None] + 8 * np.arange(len(corners))[:, None, None]).reshape(-1, 3)
    xyz = corners.reshape(-1, 3)
    return go.Mesh3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], i=triangles[:, 0], j=triangles[:, 1],
                     k=triangles[:, 2], color=colour, opacity=opacity, flatshading=True, name=name,
                     legendgroup=group, showlegend=legend, hoverinfo="name")


def write_plan_html(path, depth: np.ndarray, camera: PinholeCamera, grasps, initial_pose=None,
                    title: str = "") -> Path:
    """Write the interactive view of one plan to ``path`` (about 5 MB: plotly.js is inside)."""
    go = _require_plotly()
    grasps = list(grasps)
    view = scene_view(np.asarray(depth, dtype=float), camera, grasps, radius=0.2, max_points=30000)
    traces = []
    if len(view.points):
        p = view.points
        traces.append(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers", name="scene points",
                                   marker=dict(size=1.6, color=p[:, 2], colorscale="YlOrBr", cmin=-0.02,
                                               cmax=max(float(np.percentile(p[:, 2], 99.5)), 0.05)),
                                   hoverinfo="skip"))
    for k in range(len(grasps) - 1, 0, -1):
        label = f"grasp {k + 1}: p(robust) = {grasps[k].probability:.2f}"
        traces.append(_boxes_mesh(go, view.hand_corners(grasps[k].pose), OTHER_COLOURS[(k - 1) % len(OTHER_COLOURS)],
                                  0.25, label, f"g{k}", True))
    if initial_pose is not None:
        traces.append(_boxes_mesh(go, view.hand_corners(initial_pose), "#999999", 0.12, "start pose", "start", True))
    if grasps:
        corners = view.hand_corners(grasps[0].pose)
        label = f"grasp 1 (best): p(robust) = {grasps[0].probability:.2f}"
        for part_index, part in enumerate(PARTS):
            name = label if part == "palm" else f"finger {part.upper()}"
            traces.append(_boxes_mesh(go, corners[PART_OF_LINK == part_index], BEST_COLOURS[part],
                                      PALM_ALPHA if part == "palm" else 1.0, name, "best", part in ("palm", "a")))
        T0 = grasps[0].pose.matrix()
        a = view.to_table(finger_a_label_point(T0)[None])[0]
        traces.append(go.Scatter3d(x=[a[0]], y=[a[1]], z=[a[2]], mode="text", text=["A"], showlegend=False,
                                   textfont=dict(size=18, color=BEST_COLOURS["a"]), legendgroup="best"))
        palm, tip = view.to_table(np.stack([T0[:3, 3], T0[:3, 3] + 0.06 * T0[:3, 2]]))
        traces.append(go.Scatter3d(x=[palm[0], tip[0]], y=[palm[1], tip[1]], z=[palm[2], tip[2]], mode="lines",
                                   line=dict(color="black", width=6), name="approach axis (+z)",
                                   legendgroup="best"))
        traces.append(go.Cone(x=[tip[0]], y=[tip[1]], z=[tip[2]], u=[tip[0] - palm[0]], v=[tip[1] - palm[1]],
                              w=[tip[2] - palm[2]], sizemode="absolute", sizeref=0.02, anchor="tip",
                              colorscale=[[0, "black"], [1, "black"]], showscale=False, legendgroup="best",
                              hoverinfo="skip"))
    c, r = view.centre, view.radius
    fig = go.Figure(traces)
    fig.update_layout(title=title, legend=dict(itemsizing="constant"), margin=dict(l=0, r=0, t=40, b=0),
                      scene=dict(aspectmode="data", xaxis=dict(title="x (m)", range=[c[0] - r, c[0] + r]),
                                 yaxis=dict(title="y (m)", range=[c[1] - r, c[1] + r]),
                                 zaxis=dict(title="height above table (m)" if view.has_table else "height (m)",
                                            range=[-0.01, max(c[2] + r, 0.1)])))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path
