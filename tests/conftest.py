"""Shared fixtures of the Python tests: the test data directory, a CPU backend, and the
hypothesis profiles (GGALLOC_LONG=1 runs many more examples)."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("default", deadline=None, max_examples=40,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("long", deadline=None, max_examples=1000,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.load_profile("long" if os.environ.get("GGALLOC_LONG") else "default")
except ImportError:  # pragma: no cover
    pass

from testdata import DATA  # noqa: E402


@pytest.fixture(scope="session")
def data_dir():
    """tests/data: graphs/, traces/ and gguf/ inside the repository."""
    path = os.path.join(DATA, "graphs")
    assert os.path.isdir(path), f"{path} is missing from the repository"
    return DATA


@pytest.fixture(scope="session")
def cpu():
    import ggalloc as gg
    backend = gg.CPUBackend(n_threads=2)
    yield backend
    backend.close()


@pytest.fixture
def ctx():
    import ggalloc as gg
    with gg.Context() as c:
        yield c
