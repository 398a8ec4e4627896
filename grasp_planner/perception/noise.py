"""A seeded depth-sensor noise model for evaluation (structured-light / active-stereo cameras).

Four effects, applied in this order to a clean float depth image (m, 0 = missing):

1. axial Gaussian noise with ``sigma = k * z**2`` (the disparity error of a triangulating sensor;
   k = 0.002 /m gives 0.5 mm at 0.5 m and 1 mm at 0.7 m, the order of a RealSense D435 datasheet);
2. dropout at depth edges: pixels next to a jump of more than ``edge_jump`` m lose their return with
   probability ``edge_dropout`` (the projector's shadow and mixed pixels);
3. random holes: blobs about ``hole_size`` px across covering ``hole_fraction`` of the image
   (specular or dark patches), made by thresholding a smoothed random field;
4. quantisation to ``quantum`` m (1 mm: the 16UC1 wire format).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from grasp_planner.camera import valid_depth_mask


@dataclass(frozen=True)
class SensorNoise:
    """Parameters of the noise model (see the module docstring); ``SensorNoise.none()`` changes nothing."""

    k: float = 0.002
    edge_jump: float = 0.01
    edge_dropout: float = 0.5
    hole_fraction: float = 0.0
    hole_size: float = 12.0
    quantum: float = 0.001

    @classmethod
    def none(cls) -> "SensorNoise":
        return cls(k=0.0, edge_dropout=0.0, hole_fraction=0.0, quantum=0.0)

    def apply(self, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A noisy copy of ``depth`` (H, W) float m, 0 = missing; returns float32 m, 0 = missing."""
        return add_sensor_noise(depth, rng, self)


def edge_pixels(depth: np.ndarray, jump: float) -> np.ndarray:
    """True at valid pixels whose 4-neighbour differs by more than ``jump`` m (or is missing)."""
    d = np.asarray(depth, dtype=np.float64)
    valid = valid_depth_mask(d)
    padded = np.pad(np.where(valid, d, 0.0), 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    edge = np.zeros(d.shape, dtype=bool)
    for dv, du in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        neighbour = padded[1 + dv:padded.shape[0] - 1 + dv, 1 + du:padded.shape[1] - 1 + du]
        edge |= np.abs(neighbour - centre) > jump
    return edge & valid


def random_holes(shape: tuple[int, int], fraction: float, size: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask with blobs about ``size`` px across covering ``fraction`` of the image (exact to a pixel)."""
    if fraction <= 0:
        return np.zeros(shape, dtype=bool)
    field = gaussian_filter(rng.standard_normal(shape), sigma=max(size / 4.0, 0.5), mode="wrap")
    n_holes = int(round(fraction * field.size))
    mask = np.zeros(field.size, dtype=bool)
    mask[np.argsort(field, axis=None)[:n_holes]] = True
    return mask.reshape(shape)


def add_sensor_noise(depth: np.ndarray, rng: np.random.Generator, noise: SensorNoise = SensorNoise()) -> np.ndarray:
    """Apply :class:`SensorNoise` to a clean depth image.

    Parameters
    ----------
    depth : (H, W) float metres, 0/NaN = missing.
    rng : the only source of randomness.
    noise : model parameters.

    Returns
    -------
    (H, W) float32 metres, 0 = missing.
    """
    d = np.asarray(depth, dtype=np.float64)
    valid = valid_depth_mask(d)
    out = np.where(valid, d, 0.0)
    if noise.k > 0:
        out = out + rng.standard_normal(out.shape) * noise.k * out ** 2
    drop = np.zeros(out.shape, dtype=bool)
    if noise.edge_dropout > 0:
        drop |= edge_pixels(np.where(valid, d, 0.0), noise.edge_jump) & (rng.random(out.shape) < noise.edge_dropout)
    drop |= random_holes(out.shape, noise.hole_fraction, noise.hole_size, rng)
    if noise.quantum > 0:
        out = np.round(out / noise.quantum) * noise.quantum
    out[drop | ~valid | (out <= 0)] = 0.0
    return out.astype(np.float32)
