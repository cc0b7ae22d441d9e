"""Fixtures of the hostile-code tests: every test runs once per isolation layer of the sandbox."""

from __future__ import annotations

import pytest
from hostile_kit import LAYERS, unavailable


@pytest.fixture(params=LAYERS)
def layer(request) -> str:
    """An isolation layer this machine can run; the others are skipped with the reason."""
    reason = unavailable(request.param)
    if reason:
        pytest.skip(reason)
    return request.param
