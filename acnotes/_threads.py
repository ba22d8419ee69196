"""``torch_threads(n)``: run a block with n torch threads, then restore the old count."""

from __future__ import annotations

from contextlib import contextmanager

import torch

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int):
    """Set ``torch.set_num_threads(n)`` inside the block (1 is fastest for small nets)."""
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)
