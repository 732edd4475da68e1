"""One torch thread: these tests run tiny tensors, where a second (busy) core only adds OpenMP waits."""
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
