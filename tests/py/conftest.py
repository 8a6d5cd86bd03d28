"""Fixtures for the CPython tests. Shared oracle helpers live in oracles.py."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded random generator, fresh for each test."""
    return np.random.default_rng(12345)
