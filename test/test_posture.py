"""Gripper postures, Robotiq 3F registers and the TCP offset (hand/posture.py)."""
from pathlib import Path

import numpy as np
import pytest

from grasp_planner.hand import dimensions as dim
from grasp_planner.hand import kinematics
from grasp_planner.hand.posture import (
    ACTUATED_JOINTS, MODE_REGISTER, Robotiq3FRegisters, apply_tcp_offset, grasp_posture, posture,
    pre_grasp_posture, registers, remove_tcp_offset, tcp_offset_from_xyzrpy)
from grasp_planner.pose import Pose


def test_actuated_joints_are_joints_of_the_hand_model():
    assert set(ACTUATED_JOINTS) <= set(kinematics.JOINT_NAMES)
    assert len(ACTUATED_JOINTS) == 4


@pytest.mark.parametrize("mode", ["basic", "pinch", "wide"])
def test_pre_grasp_opens_every_finger_and_sets_the_mode_scissor_angle(mode):
    p = pre_grasp_posture(mode)
    assert p.positions[:3] == (dim.PROXIMAL_LIMITS[0],) * 3
    assert p.positions[3] == pytest.approx(dim.MODES[mode])
    assert p.efforts == (0.0,) * 4


def test_pre_grasp_matches_the_open_configuration_of_the_kinematic_model():
    q = kinematics.open_configuration("wide")
    p = pre_grasp_posture("wide")
    for name, value in zip(p.joint_names, p.positions):
        assert value == pytest.approx(q[kinematics.JOINT_NAMES.index(name)])


def test_grasp_closes_the_fingers_with_effort_proportional_to_force():
    weak, strong = grasp_posture("basic", 0.25), grasp_posture("basic", 1.0)
    assert weak.positions[:3] == (dim.PROXIMAL_LIMITS[1],) * 3
    assert strong.efforts[:3] == (dim.JOINT_EFFORT,) * 3
    assert weak.efforts[0] == pytest.approx(0.25 * dim.JOINT_EFFORT)
    assert weak.positions[3] == strong.positions[3] == dim.MODES["basic"]   # mode kept while closing


def test_scissor_mode_closes_the_scissor_axis_and_leaves_the_fingers_open():
    pre, grasp = pre_grasp_posture("scissor"), grasp_posture("scissor", 0.5)
    assert grasp.positions[:3] == pre.positions[:3] == (dim.PROXIMAL_LIMITS[0],) * 3
    assert pre.positions[3] > grasp.positions[3] == dim.SCISSOR_LIMITS[0]
    assert grasp.efforts == (0.0, 0.0, 0.0, 0.5 * dim.JOINT_EFFORT)


def test_postures_stay_within_the_joint_limits():
    lower, upper = kinematics.joint_limits()
    for mode in MODE_REGISTER:
        for stage in ("pre_grasp", "grasp"):
            p = posture(mode, stage, 1.0)
            for name, value in zip(p.joint_names, p.positions):
                i = kinematics.JOINT_NAMES.index(name)
                assert lower[i] - 1e-9 <= value <= upper[i] + 1e-9, (mode, stage, name)


@pytest.mark.parametrize("bad", [lambda: grasp_posture("fist"), lambda: grasp_posture("basic", 1.5),
                                 lambda: posture("basic", "squeeze"), lambda: registers("basic", "grasp", speed=-0.1)])
def test_bad_mode_stage_or_fraction_raises_value_error(bad):
    with pytest.raises(ValueError):
        bad()


# --- registers --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,value", list(MODE_REGISTER.items()))
def test_registers_activate_and_set_the_mode(mode, value):
    r = registers(mode, "pre_grasp")
    assert (r.r_act, r.r_gto, r.r_mod, r.r_atr) == (1, 1, value, 0)


def test_grasp_registers_close_all_fingers_together_at_the_requested_speed_and_force():
    r = registers("pinch", "grasp", speed=1.0, force=0.2)
    assert (r.r_icf, r.r_pra, r.r_spa, r.r_fra) == (0, 255, 255, 51)
    assert registers("pinch", "pre_grasp").r_pra == 0


def test_scissor_mode_registers_drive_the_scissor_axis_individually():
    r = registers("scissor", "grasp", speed=0.5, force=0.5)
    assert (r.r_ics, r.r_prs, r.r_sps, r.r_frs, r.r_pra) == (1, 255, 128, 128, 0)


def test_register_names_equal_the_interface_message_fields():
    msg = (Path(__file__).parents[1] / "interfaces/grasp_planner_interfaces/msg/Robotiq3FCommand.msg").read_text()
    declared = [line.split()[1] for line in msg.splitlines() if line.startswith("uint8 r_")]
    assert declared == list(Robotiq3FRegisters().as_dict())


def test_a_register_out_of_range_is_refused():
    with pytest.raises(ValueError, match="r_fra"):
        Robotiq3FRegisters(r_fra=256)


# --- TCP offset -----------------------------------------------------------------------------------
def test_tcp_offset_moves_the_tool_frame_along_the_hand_axes():
    # a tool frame 10 cm behind the palm face (towards the wrist), turned 90 deg about the approach axis
    T_hand_tool = tcp_offset_from_xyzrpy([0, 0, -0.10, 0, 0, np.pi / 2])
    T_base_hand = Pose.from_xyzrpy([0.5, 0.0, 0.2, np.pi, 0, 0])        # pointing down at the table
    T_base_tool = apply_tcp_offset(T_base_hand, T_hand_tool)
    np.testing.assert_allclose(T_base_tool.translation, [0.5, 0.0, 0.3], atol=1e-12)   # 10 cm above
    np.testing.assert_allclose(T_base_tool.rotation[:, 0], T_base_hand.rotation[:, 1], atol=1e-12)


def test_removing_the_offset_undoes_applying_it_for_a_batch():
    T_hand_tool = tcp_offset_from_xyzrpy([0.01, -0.02, 0.03, 0.1, 0.2, 0.3])
    rng = np.random.default_rng(0)
    T = np.stack([Pose.from_xyzrpy(v).matrix() for v in rng.normal(size=(5, 6))])
    np.testing.assert_allclose(remove_tcp_offset(apply_tcp_offset(T, T_hand_tool), T_hand_tool), T, atol=1e-12)


def test_a_tcp_offset_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="6 numbers"):
        tcp_offset_from_xyzrpy([0, 0, 0.1])
