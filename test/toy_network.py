"""The paper's toy problem: is (x, y) on a blob of a 20x20 image? (torch; test scaffolding, not in the package).

The paper trains a network on "a 20x20 matrix of zeroes with some rectangular blobs of ones and an
(x, y) location -> the matrix value", reaching < 5% error, and then shows that ascending the learned
score from a start point ends on a blob. This module gives the data and a small mix-in network of
the same shape as the grasp CNN (image encoder, position mixed in before the fully connected
layers), so the optimizer can be tested on a score whose optimum is known.

Coordinates: ``x`` is the column, ``y`` the row, both continuous in ``[0, size)``; the cell of
``(x, y)`` is ``image[floor(y), floor(x)]``. The network sees ``2 * xy / size - 1`` in ``[-1, 1]``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

TOY_SIZE = 20


def blob_image(rng: np.random.Generator, size: int = TOY_SIZE, blobs: tuple[int, int] = (2, 4),
               blob_side: tuple[int, int] = (3, 7)) -> np.ndarray:
    """A ``(size, size)`` float32 image of zeros with a random number of axis-aligned rectangles of ones."""
    image = np.zeros((size, size), dtype=np.float32)
    for _ in range(rng.integers(blobs[0], blobs[1] + 1)):
        h, w = rng.integers(blob_side[0], blob_side[1] + 1, size=2)
        r, c = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        image[r:r + h, c:c + w] = 1.0
    return image


def on_blob(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Labels (N,) int64: 1 where ``(x, y)`` (N, 2) falls on a cell of value 1."""
    size = image.shape[0]
    cells = np.clip(np.floor(xy).astype(np.int64), 0, size - 1)
    return image[cells[:, 1], cells[:, 0]].astype(np.int64)


def normalize_xy(xy, size: int = TOY_SIZE):
    """Network input from image coordinates: ``[0, size) -> [-1, 1)`` (numpy or torch)."""
    return 2.0 * xy / size - 1.0


class ToyMixIn(nn.Module):
    """Image (K, 1, S, S) and normalised (x, y) (N, 2) -> logits (N, 2) (0 off blob, 1 on blob).

    Encoder: conv 8@3x3, 2x2 max-pool, FC to ``features``; head: [features, x, y] -> FC hidden ->
    FC hidden -> 2, ReLU. Like the grasp CNN, ``forward_grouped`` encodes each image once.
    """

    def __init__(self, size: int = TOY_SIZE, features: int = 64, hidden: int = 256):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                     nn.Linear(8 * (size // 2) ** 2, features), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(features + 2, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                  nn.ReLU(), nn.Linear(hidden, 2))

    def forward_grouped(self, images: torch.Tensor, index: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.encoder(images)[index], xy], dim=1))

    def forward(self, image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        return self.forward_grouped(image, torch.arange(len(xy)), xy)

    def score(self, image: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Logit of "on blob" (the score the paper ascends) at image coordinates ``xy`` (N, 2) of one image."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float32))
        img = torch.from_numpy(np.asarray(image, dtype=np.float32))[None, None]
        with torch.no_grad():
            logits = self.forward_grouped(img, torch.zeros(len(xy), dtype=torch.long),
                                          torch.from_numpy(normalize_xy(xy, image.shape[0])))
        return logits.numpy()[:, 1].astype(float)


def sample_batch(images: np.ndarray, n: int, rng: np.random.Generator):
    """``(image index (n,), xy (n, 2), label (n,))`` for points uniform over the images."""
    index = rng.integers(0, len(images), n)
    size = images.shape[-1]
    xy = rng.uniform(0, size, (n, 2))
    cells = np.floor(xy).astype(np.int64)
    return index, xy, images[index, cells[:, 1], cells[:, 0]].astype(np.int64)


def train_toy(images: np.ndarray, steps: int = 600, batch: int = 256, seed: int = 0, lr: float = 2e-3) -> ToyMixIn:
    """Train :class:`ToyMixIn` on uniformly drawn points of ``images`` (K, S, S); Adam, cross-entropy."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    size = images.shape[-1]
    model = ToyMixIn(size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    image_t = torch.from_numpy(np.asarray(images, dtype=np.float32))[:, None]
    for _ in range(steps):
        index, xy, labels = sample_batch(images, batch, rng)
        logits = model.forward_grouped(image_t, torch.from_numpy(index),
                                       torch.from_numpy(normalize_xy(xy, size).astype(np.float32)))
        loss = nn.functional.cross_entropy(logits, torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def toy_error(model: ToyMixIn, images: np.ndarray, n: int = 4000, seed: int = 1) -> float:
    """Fraction of ``n`` uniform random points of ``images`` classified wrongly."""
    rng = np.random.default_rng(seed)
    index, xy, labels = sample_batch(images, n, rng)
    size = images.shape[-1]
    with torch.no_grad():
        xy_t = torch.from_numpy(normalize_xy(xy, size).astype(np.float32))
        logits = model.forward_grouped(torch.from_numpy(np.asarray(images, dtype=np.float32))[:, None],
                                       torch.from_numpy(index), xy_t)
    return float(np.mean(logits.argmax(1).numpy() != labels))
