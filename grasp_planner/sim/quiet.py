"""Silence the Klamp't C++ layer, which prints straight to file descriptors 1 and 2."""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def silenced_output(enabled: bool = True):
    """Redirect fds 1 and 2 to /dev/null inside the block (Python's sys.stdout/stderr too).

    Klamp't's URDF parser and ODE simulator write with printf, bypassing ``sys.stdout``, so only an
    fd-level redirect keeps worker logs and progress bars readable. ``enabled=False`` is a no-op.
    """
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
