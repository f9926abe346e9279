from __future__ import annotations

import pytest

from tests.unit.domain.world import World


@pytest.fixture
async def world() -> World:
    """The organisation, with tapbot's baseline of its managers already recorded."""
    created = World()
    await created.baseline()
    return created
