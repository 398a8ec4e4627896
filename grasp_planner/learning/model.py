"""The paper's mix-in CNN (torch; training and export only).

Encoder (128x128 depth -> 1800 features): conv 50@5x5, 2x2 max-pool, 50@5x5, pool, 50@4x4, pool,
50@2x2, pool, ReLU after each conv; valid convolutions and floor pooling give
128 -> 124 -> 62 -> 58 -> 29 -> 26 -> 13 -> 12 -> 6, so 50 x 6 x 6 = 1800.
Head: [features, pose] (1800 + D) -> FC 1000 -> FC 100 -> 2 logits (0 failed, 1 robust), ReLU.
The split lets training share one encoder pass among the grasps of an image and lets the planner
re-score poses without re-running the convolutions.
"""
from __future__ import annotations

import torch
from torch import nn

from grasp_planner.contract.features import PoseEncoding
from grasp_planner.contract.model_card import ARCHITECTURES

CONV_CHANNELS = 50
CONV_KERNELS = (5, 5, 4, 2)
HIDDEN = (1000, 100)


def encoder_output_size(height: int, width: int) -> tuple[int, int]:
    """Spatial size after the four conv + pool stages (valid convs, floor pooling)."""
    h, w = height, width
    for k in CONV_KERNELS:
        h, w = (h - k + 1) // 2, (w - k + 1) // 2
        if h < 1 or w < 1:
            raise ValueError(f"input image {height}x{width} (HxW) is too small for the encoder's four conv+pool "
                             f"stages; the paper's network takes 128x128")
    return h, w


class DepthEncoder(nn.Module):
    """Depth image (N, 1, H, W), normalised -> features (N, 50 * h * w)."""

    def __init__(self):
        super().__init__()
        layers, channels = [], 1
        for k in CONV_KERNELS:
            layers += [nn.Conv2d(channels, CONV_CHANNELS, k), nn.ReLU(), nn.MaxPool2d(2)]
            channels = CONV_CHANNELS
        self.layers = nn.Sequential(*layers)

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.layers(depth), 1)


class MixInHead(nn.Module):
    """Features (N, F) and pose features (N, D) -> logits (N, 2)."""

    def __init__(self, feature_size: int, pose_dim: int):
        super().__init__()
        self.feature_size, self.pose_dim = feature_size, pose_dim
        self.fc1 = nn.Linear(feature_size + pose_dim, HIDDEN[0])
        self.fc2 = nn.Linear(HIDDEN[0], HIDDEN[1])
        self.out = nn.Linear(HIDDEN[1], 2)

    def forward(self, features: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc1(torch.cat([features, pose], dim=1)))
        x = torch.relu(self.fc2(x))
        return self.out(x)


class GraspCNN(nn.Module):
    """The mix-in CNN: ``forward(depth, pose) -> logits``; ``encoder`` and ``head`` usable alone."""

    def __init__(self, architecture: str = "paper", input_size: tuple[int, int] = (128, 128)):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
        self.architecture = architecture
        self.input_size = tuple(input_size)
        self.pose_dim = PoseEncoding(ARCHITECTURES[architecture]).dim
        h, w = encoder_output_size(*self.input_size)
        self.feature_size = CONV_CHANNELS * h * w
        self.encoder = DepthEncoder()
        self.head = MixInHead(self.feature_size, self.pose_dim)

    def forward(self, depth: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(depth), pose)

    def forward_grouped(self, depth: torch.Tensor, image_index: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """Logits for N poses over B images: one encoder pass per image, not per pose.

        Parameters
        ----------
        depth : (B, 1, H, W) normalised depth images.
        image_index : (N,) long, which image each pose is scored on.
        pose : (N, D) pose features.
        """
        return self.head(self.encoder(depth)[image_index], pose)
