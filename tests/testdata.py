"""Where the tests' data lives: tests/data (graphs, traces, model files) inside the repository."""

import os

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def data_path(*parts: str) -> str:
    """The path of a data file; fails the test loudly when the file is missing."""
    path = os.path.join(DATA, *parts)
    assert os.path.exists(path), f"test data {path} is missing from the repository"
    return path
