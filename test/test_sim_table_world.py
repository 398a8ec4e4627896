"""The table-top world, specified on real Klamp't: resting, closing on the table, qualification, labels."""
import dataclasses

import numpy as np
import pytest
import trimesh

from grasp_planner.hand import kinematics as kin
from grasp_planner.hand.closing import closed_hand_would_collide, closing_sweep
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel
from grasp_planner.sim.table_qualify import TableQualifiedSampler
from grasp_planner.sim.table_world import (Body, TableGraspSimulator, TableScene, drop_pose, place_scene,
                                           settle)
from grasp_planner.sim.world_config import TableWorldConfig

SIM = SimConfig.load()
WORLD = TableWorldConfig.load()
#: a side grasp of the upright cylinder below: approach along table +x, fingers closing horizontally
SIDE = np.array([[0.0, 0.0, 1.0, -0.08], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.075], [0.0, 0.0, 0.0, 1.0]])


def _upright(mesh) -> TableScene:
    body = Body(mesh.vertices, mesh.faces, drop_pose(mesh.vertices, np.eye(3), (0.0, 0.0), 0.0015))
    return TableScene(settle([body], SIM, WORLD)[0])


@pytest.fixture(scope="module")
def cylinder_scene():
    """An upright cylinder 6 cm across, 12 cm tall, settled at the table centre."""
    return _upright(trimesh.creation.cylinder(0.03, 0.12, sections=32))


def _lowest(body: Body) -> float:
    return float((body.vertices @ body.T_table_obj[:3, :3].T + body.T_table_obj[:3, 3])[:, 2].min())


def test_a_settled_object_rests_on_the_table_top_and_is_still():
    box = trimesh.creation.box((0.06, 0.04, 0.08))
    rng = np.random.default_rng(3)
    scene = place_scene(box.vertices, box.faces, rng, WORLD, SIM)
    assert abs(_lowest(scene.target)) < 1e-3
    # settling it again from its rest pose moves it by well under a millimetre: it was still
    again = settle([scene.target], SIM, WORLD)[0]
    assert np.linalg.norm(again.T_table_obj[:3, 3] - scene.target.T_table_obj[:3, 3]) < 1e-3


def test_neighbours_rest_on_the_table_at_a_gap_from_the_target():
    box = trimesh.creation.box((0.05, 0.05, 0.05))
    other = trimesh.creation.cylinder(0.02, 0.06)
    scene = place_scene(box.vertices, box.faces, np.random.default_rng(1), WORLD, SIM,
                        neighbours=[(other.vertices, other.faces)])
    (neighbour,) = scene.neighbours
    assert abs(_lowest(neighbour)) < 1e-3
    gap = np.linalg.norm(neighbour.T_table_obj[:2, 3] - scene.target.T_table_obj[:2, 3])
    assert 0.035 + 0.02 - 0.01 < gap < 0.035 + 0.028 + 0.06 + 0.01  # bounding circles + the 2-6 cm gap


def _closing_rule(table_blocks_fingers: bool) -> TableWorldConfig:
    """The staged finger model (the stores' up to 2026-12-03, with their 2 ms step and gains) with one of its
    table rules: the table stops a phalanx (False) or it hands over (True)."""
    return WORLD.replace(grip=dataclasses.replace(WORLD.grip, table_blocks_fingers=table_blocks_fingers,
                                                  finger_model="staged", sim_dt_s=0.002, pid_kp=2.0, pid_kd=0.002))


def _lowest_box_point(T, q) -> float:
    mats = kin.box_matrices(T, q)
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    corners = np.einsum("nij,nkj->nki", mats[:, :3, :3], signs[None] * kin.BOX_HALF_EXTENTS[:, None])
    return float((corners + mats[:, None, :3, 3])[..., 2].min())


def test_a_finger_closing_towards_the_table_stops_on_it_and_with_the_linkage_rule_curls_on(cylinder_scene):
    # top-down far from the cylinder, palm low enough that the closing fingers sweep into the table
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = [0.3, 0.0, 0.11]
    pushing, table_touched = TableGraspSimulator(cylinder_scene, SIM, _closing_rule(False)).close_only(T)
    assert table_touched                                  # the earlier rule: the fingers end pressed on the table
    lowest = _lowest_box_point(T, pushing.q_hand)
    assert lowest > -0.004  # on the top (within the padding), not through it
    mats, links = closing_sweep()  # unhindered, the closing fingers would sweep well below the top
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    corners = np.einsum("nij,nkj->nki", mats[:, :3, :3], signs[None] * kin.BOX_HALF_EXTENTS[links][:, None])
    swept = ((corners + mats[:, None, :3, 3]) @ T[:3, :3].T + T[:3, 3])[..., 2].min()
    assert swept < lowest - 0.01
    curling, _ = TableGraspSimulator(cylinder_scene, SIM, _closing_rule(True)).close_only(T)
    assert _lowest_box_point(T, curling.q_hand) > lowest  # stopped by the table, the next phalanges take over
    distal = [i for i, name in enumerate(kin.JOINT_NAMES) if name.endswith("_joint_3")]
    assert np.all(curling.q_hand[distal] > pushing.q_hand[distal] + 0.5)


def test_a_grasp_reaching_the_object_only_below_the_table_is_not_qualified():
    flat = trimesh.creation.box((0.03, 0.03, 0.01))
    scene = _upright(flat)
    sampler = TableQualifiedSampler(scene, SIM)
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])  # top-down over the small flat object
    T[:3, 3] = [0.0, 0.0, 0.118]            # open hand just clear of the table
    assert not sampler._blocked(T)
    assert closed_hand_would_collide(T, sampler.geometry)  # the paper's test alone would take it
    assert not sampler.reaches_before_table(T)
    assert not sampler.qualifies(T)


def test_with_qualify_past_table_a_finger_may_meet_the_table_before_the_target():
    # the same top-down pose over a small flat object: its fingers meet the table first; with the linkage rule
    # they curl on, so the pose is worth simulating (grip.qualify_past_table)
    flat = trimesh.creation.box((0.03, 0.03, 0.01))
    scene = _upright(flat)
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = [0.0, 0.0, 0.118]
    strict, past = TableQualifiedSampler(scene, SIM), TableQualifiedSampler(scene, SIM, past_table=True)
    assert not strict.qualifies(T) and past.qualifies(T)
    T[:3, 3] = [0.0, 0.0, 0.09]                 # the open fingertips in the table: refused either way
    assert not strict.qualifies(T) and not past.qualifies(T)
    T[:3, 3] = [0.2, 0.0, 0.118]                # beside the object: the closing sweeps nothing, refused either way
    assert not strict.qualifies(T) and not past.qualifies(T)


def test_sampled_table_poses_approach_from_above_and_clear_the_table(cylinder_scene):
    sampler = TableQualifiedSampler(cylinder_scene, SIM)
    poses = np.concatenate([sampler.propose("uniform", np.random.default_rng(0), 4),
                            sampler.propose("approach", np.random.default_rng(1), 4)])
    assert len(poses) == 8
    assert np.all(poses[:, 2, 2] <= 1e-9)
    assert all(sampler.qualifies(T) for T in poses)


def test_side_grasp_of_an_upright_cylinder_is_robust_and_fails_5_cm_off(cylinder_scene):
    simulator = TableGraspSimulator(cylinder_scene, SIM, WORLD)
    held = simulator.label_repeated(SIDE, np.random.default_rng(0))
    assert held.label == GraspLabel.ROBUST
    assert len(held.trials) == WORLD.trials.count and held.robust_fraction >= 0.5
    off = SIDE.copy()
    off[0, 3] -= 0.05  # 5 cm back along the approach: the fingers close short of the object
    missed = simulator.label_repeated(off, np.random.default_rng(0))
    assert missed.label == GraspLabel.FAILED and missed.robust_fraction == 0.0
    assert len(missed.trials) == WORLD.trials.early_stop_failed  # early stop on agreeing failures


def test_the_fraction_of_k_trials_is_reproducible_with_the_same_seed(cylinder_scene):
    simulator = TableGraspSimulator(cylinder_scene, SIM, WORLD)
    pose = SIDE.copy()
    pose[2, 3] += 0.01
    first = simulator.label_repeated(pose, np.random.default_rng(5))
    again = simulator.label_repeated(pose, np.random.default_rng(5))
    assert [t.label for t in first.trials] == [t.label for t in again.trials]
    assert first.robust_fraction == again.robust_fraction


def test_a_start_with_the_open_hand_in_the_table_fails_without_simulating(cylinder_scene):
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = [0.3, 0.0, 0.05]  # the open fingers reach 10.4 cm: 5 cm into the table
    simulator = TableGraspSimulator(cylinder_scene, SIM, WORLD)
    assert simulator.open_hand_blocked(T)
    outcome = simulator.trial(T, np.random.default_rng(0))
    assert outcome.label == GraspLabel.FAILED and outcome.shakes_done == 0 and outcome.sim_wall_time_s < 0.05


def test_with_table_blocks_fingers_a_phalanx_stopped_by_the_table_hands_over_and_the_fingers_reach_the_box():
    # top-down over a 5 cm box, the open fingertips 5 mm above the table: closing swings them down onto it
    from grasp_planner.planning.heuristic import open_hand_reach

    scene = _upright(trimesh.creation.box((0.06, 0.04, 0.05)))
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = [*scene.target.T_table_obj[:2, 3], open_hand_reach() + 0.005]
    stopped, _ = TableGraspSimulator(scene, SIM, _closing_rule(False)).close_only(T)
    handed_over, _ = TableGraspSimulator(scene, SIM, _closing_rule(True)).close_only(T)
    assert WORLD.grip.table_blocks_fingers              # the staged model's rule in the shipped world
    assert stopped.fingers_touching == 0                # the earlier rule: the fingers stay on the table
    assert handed_over.fingers_touching == 3            # the distal phalanges curl on, onto the box


def test_servo_fingers_lift_the_issue_box_from_above_where_the_staged_rule_drops_it():
    # issue 17's 6 x 4 x 8 cm box standing on the table, the top-down heuristic's grasps (palm above the top)
    from grasp_planner.planning.heuristic import top_down_grasp

    scene = _upright(trimesh.creation.box((0.06, 0.04, 0.08)))
    T = scene.target.T_table_obj
    points = scene.target.vertices @ T[:3, :3].T + T[:3, 3]
    poses = [top_down_grasp(points, np.array([0.0, 0.0, 1.0]), np.random.default_rng(k), table_height=0.0)
             for k in range(4)]
    servo = TableGraspSimulator(scene, SIM, WORLD)
    staged = TableGraspSimulator(scene, SIM, _closing_rule(True))
    lifted_servo = [servo.trial(P, np.random.default_rng(10 + k)).lifted for k, P in enumerate(poses)]
    lifted_staged = [staged.trial(P, np.random.default_rng(10 + k)).lifted for k, P in enumerate(poses)]
    assert WORLD.grip.finger_model == "servo"           # the shipped world (docs/table_world.md)
    assert sum(lifted_servo) >= 3                       # the servo fingers keep pressing while the hand lifts
    assert sum(lifted_staged) <= 1                      # locked at the contact angle, the box stays on the table


def test_a_finger_model_that_does_not_exist_is_a_config_error_naming_file_and_key(tmp_path):
    from grasp_planner.config_schema import ConfigError
    from grasp_planner.resources import resource_path

    text = resource_path("config", "table_world.yaml").read_text().replace("finger_model: servo", "finger_model: magic")
    path = tmp_path / "table_world.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"table_world\.yaml.*grip\.finger_model.*magic"):
        TableWorldConfig.load(path)
