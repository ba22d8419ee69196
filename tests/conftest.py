"""Shared test settings."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Run every test with one torch thread.

    The tensors in these tests are tiny: more threads only add contention, badly so on a
    loaded 2-core CI machine.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
