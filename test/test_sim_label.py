"""Klamp't labelling on real simulations: held boxes, ejected spheres, stopping fingers, repeatability."""
import numpy as np
import pytest
import trimesh

from grasp_planner.hand import joint_limits
from grasp_planner.hand.kinematics import JOINT_NAMES
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel
from grasp_planner.sim.simulate import GraspSimulator

CONFIG = SimConfig.load()
FINGER_A = [JOINT_NAMES.index(f"finger_a_joint_{j}") for j in (1, 2)]


def _hand_below(z_m: float) -> np.ndarray:
    """T_obj_hand with the hand's +z axis through the object origin, the origin z_m in front of the palm."""
    T = np.eye(4)
    T[2, 3] = -z_m
    return T


@pytest.fixture(scope="module")
def box_sim():
    box = trimesh.creation.box([0.05, 0.05, 0.05])
    return GraspSimulator(box.vertices, box.faces, CONFIG)


def test_box_well_inside_the_closed_hand_is_robust(box_sim):
    outcome = box_sim.label(_hand_below(0.05), np.random.default_rng(1))
    assert outcome.label == GraspLabel.ROBUST
    assert outcome.robust_after_1_shake
    assert outcome.fingers_touching == 3
    assert outcome.shakes_done == CONFIG.shake.count


def test_a_hand_that_never_touches_the_object_is_failed_not_robust(box_sim):
    """Zero gravity keeps an untouched object in place through the shakes; it is still not held."""
    far = _hand_below(0.05)
    far[0, 3] = 1.0   # the hand closes 1 m to the side of the box
    outcome = box_sim.label(far, np.random.default_rng(1))
    assert outcome.fingers_touching == 0
    assert outcome.label == GraspLabel.FAILED
    assert not outcome.robust_after_1_shake


def test_same_seed_gives_the_same_outcome_whatever_ran_before(box_sim):
    T = _hand_below(0.045)
    T[0, 3] = 0.012  # off-centre, so contacts are asymmetric and the outcome depends on the solver
    first = box_sim.label(T, np.random.default_rng(5))
    box_sim.label(_hand_below(0.06), np.random.default_rng(6))  # a different grasp in between
    second = box_sim.label(T, np.random.default_rng(5))
    box = trimesh.creation.box([0.05, 0.05, 0.05])
    fresh = GraspSimulator(box.vertices, box.faces, CONFIG).label(T, np.random.default_rng(5))
    for other in (second, fresh):
        assert other.label == first.label
        assert other.object_displacement_m == first.object_displacement_m  # bit-identical
        assert other.closing_time_s == first.closing_time_s
        assert other.shakes_done == first.shakes_done


def test_sphere_much_smaller_than_the_finger_gap_is_not_robust():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.005)  # 1 cm, fingers are 3 cm wide
    sim = GraspSimulator(sphere.vertices, sphere.faces, CONFIG)
    labels = [sim.label(_hand_below(z), np.random.default_rng(seed)).label
              for z in (0.05, 0.07) for seed in (0, 1)]
    assert GraspLabel.ROBUST not in labels


def test_finger_closing_on_a_fixed_box_stops_below_its_target(box_sim):
    upper = joint_limits()[1]
    blocked = box_sim.close(_hand_below(0.05), fix_object=True)
    free = box_sim.close(_hand_below(0.5), early_exit=False)  # object 0.5 m away: nothing to touch
    # free fingers reach their targets (within the 0.01 rad limit margin plus PID lag, 0.05 rad)...
    np.testing.assert_allclose(free.q_hand[FINGER_A], upper[FINGER_A], atol=0.05)
    # ...blocked ones stop well short of them (0.3 rad = 17 degrees)
    assert np.all(blocked.q_hand[FINGER_A] < upper[FINGER_A] - 0.3)
    assert blocked.fingers_touching == 3


def test_bad_pose_is_rejected_naming_it(box_sim):
    with pytest.raises(ValueError, match="T_obj_hand"):
        box_sim.label(np.eye(3), np.random.default_rng(0))
    skewed = np.eye(4)
    skewed[0, 1] = 0.5
    with pytest.raises(ValueError, match="T_obj_hand"):
        box_sim.label(skewed, np.random.default_rng(0))


def test_label_object_returns_shard_arrays_that_repeat_with_the_seed():
    from grasp_planner.sim import label_object

    mesh = trimesh.creation.box([0.05, 0.04, 0.06])
    first = label_object(mesh.vertices, mesh.faces, 4, np.random.default_rng(0), CONFIG)
    second = label_object(mesh.vertices, mesh.faces, 4, np.random.default_rng(0), CONFIG)
    assert first.T_obj_hand.shape == (4, 4, 4) and first.T_obj_hand.dtype == np.float64
    assert first.label.dtype == np.int8 and first.robust_after_1_shake.dtype == bool
    assert set(first.label.tolist()) <= {0, 1, 2}
    np.testing.assert_array_equal(first.T_obj_hand, second.T_obj_hand)
    np.testing.assert_array_equal(first.label, second.label)
    # a FAILED grasp was never shaken, so it cannot count as robust after one shake
    assert not np.any(first.robust_after_1_shake[first.label == 0])
