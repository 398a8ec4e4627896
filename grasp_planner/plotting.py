"""One way to write a figure: headless (Agg), folder created, figure closed so long runs do not leak."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never a window, also on a machine with a display
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, path, dpi: int = 110) -> Path:
    """Lay out ``fig``, write it to ``path`` (parents created), close it; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
