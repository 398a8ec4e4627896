"""Dimensions, masses and joint limits of the Robotiq 3-Finger Adaptive Gripper (metres, radians, kg).

Sources (public):

* [M] Robotiq, *3-Finger Adaptive Robot Gripper Instruction Manual* (2008-2018 editions), sections
  "General presentation" and "Specifications": finger naming, grasping modes, weight 2.3 kg, grip
  diameter ranges.
* [U] The articulated 3-finger URDF published by the ROS community (a-price/robotiq_3finger_description,
  derived from the ROS-Industrial ``robotiq_3f_gripper_visualization`` xacro): knuckle positions,
  phalanx pivot spacing, joint offsets and limits quoted below.
* [E] Estimated by this project from the published outline drawings and the [U] meshes' extent
  (link widths and thicknesses, distal length); these are not published numbers and matter only
  for collision volume.

Finger naming follows the manual [M]: finger **A** is the lone "thumb" and faces fingers **B** and
**C**, which sit side by side on the scissor axis. (The project issue says "A and C on one side,
B opposite"; the manual is authoritative, so this model follows it.) In the hand frame
(docs/architecture.md) +x points towards A, B is on +y and C on -y, +z is the approach axis.

Angles are *physical*: a phalanx angle is its tilt from the previous link's direction, positive
towards the palm centre (closing); the proximal angle is measured from the approach axis.
"""
from __future__ import annotations

import numpy as np

FINGERS = ("a", "b", "c")

# --- palm -------------------------------------------------------------------------------------
#: [U] palm mounting face -> palm outer face (the TCP plane) along the approach axis: 0.092075 m.
PALM_DEPTH = 0.092075
#: [E] collision box of the palm body below the outer face: x (A-to-BC), y, z half-extents.
PALM_HALF_EXTENTS = (0.065, 0.065, 0.04)
#: [M] total gripper mass 2.3 kg; split here as palm 1.4 kg + 3 fingers x 0.3 kg.
TOTAL_MASS = 2.3
PALM_MASS = 1.4

# --- finger bases (knuckles) in the hand frame ---------------------------------------------------
#: [U] knuckle of finger A: x = +0.0222504 m on the hand axis (y = 0).
KNUCKLE_A = (0.0222504, 0.0)
#: [U] knuckles of B and C: x = -0.0223012 m, y = +-0.0365125 m (the scissor axes).
KNUCKLE_B = (-0.0223012, 0.0365125)
KNUCKLE_C = (-0.0223012, -0.0365125)
#: [U] knuckle -> proximal pivot: 0.02225 m outwards; the pivot lies 0.092075 - (0.06111875 +
#: 0.0215138) = 0.0095 m below the palm outer face.
PIVOT_OUTWARD = 0.02225
PIVOT_HEIGHT = -(PALM_DEPTH - 0.06111875 - 0.0215138)

# --- phalanges -----------------------------------------------------------------------------------
#: [U] proximal pivot -> medial pivot 0.05715 m, medial pivot -> distal pivot 0.0381 m.
PROXIMAL_LENGTH = 0.05715
MEDIAL_LENGTH = 0.0381
#: [E] distal pivot -> fingertip (extent of the [U] distal mesh, rounded).
DISTAL_LENGTH = 0.035
#: [E] finger width (along the pivot axis) and phalanx thickness (closing direction).
FINGER_WIDTH = 0.030
PROXIMAL_THICKNESS = 0.020
MEDIAL_THICKNESS = 0.018
DISTAL_THICKNESS = 0.015
#: [E] finger base (link_0) block around the proximal pivot: x, y, z half-extents.
BASE_HALF_EXTENTS = (0.015, 0.015, 0.010)
#: masses chosen to add up to [M]'s 2.3 kg with the palm above (0.3 kg per finger).
BASE_MASS, PROXIMAL_MASS, MEDIAL_MASS, DISTAL_MASS = 0.06, 0.12, 0.07, 0.05

# --- joint limits (physical angles, see module docstring) ------------------------------------------
#: [U] proximal joint: 0..70 deg from an open stop tilted 35 deg (0.610865 rad) outwards.
PROXIMAL_LIMITS = (-0.610865, 0.610865)
#: [U] medial joint: 0..90 deg.
MEDIAL_LIMITS = (0.0, 1.570796)
#: [U] distal joint: fixed inward offset 25 deg (0.436332) plus a travel of -25..+73 deg.
DISTAL_LIMITS = (0.0, 0.436332 + 1.274090)
#: [U] open (home) posture of a finger: proximal at its open stop, medial straight, distal 25 deg in.
OPEN_FINGER = (PROXIMAL_LIMITS[0], 0.0, 0.436332)
#: [U] scissor (spread) joint of B and C: -16 deg (towards each other) .. +10 deg (apart). The
#: scissor axis is the knuckle, 22 mm inboard of the proximal pivot, so spreading moves the pivots
#: apart in y and turns the two closing planes towards each other.
SCISSOR_LIMITS = (-0.279253, 0.174533)

#: [M] grasping modes -> scissor angle of B and C (positive = spread apart). Basic: B and C
#: parallel to A. Wide and pinch use the [U] limits; the real hand's mode angles differ somewhat.
MODES = {"basic": 0.0, "wide": SCISSOR_LIMITS[1], "pinch": SCISSOR_LIMITS[0]}

# --- actuation (used by the Klamp't model) -------------------------------------------------------
#: joint torque limit, N m: gives about 35 N at the middle of the proximal phalanx, inside [M]'s
#: 15-60 N fingertip grip force range.
JOINT_EFFORT = 2.0
JOINT_VELOCITY = 3.0
#: Klamp't servo gains for a 1 ms step (shared/notes/klampt-sim.md: P 3..5, D 0.003..0.005 stable;
#: kP dt^2 / I and kD dt / I must stay below about 0.5 for the lightest link).
SERVO_P, SERVO_I, SERVO_D = 3.0, 0.0, 0.004


def box_inertia(mass: float, half_extents) -> np.ndarray:
    """Principal moments (Ixx, Iyy, Izz) of a solid box, kg m^2."""
    x, y, z = (2.0 * h for h in half_extents)
    return mass / 12.0 * np.array([y * y + z * z, x * x + z * z, x * x + y * y])
