"""Reading the fake tenant's test API (``/_sandbox/…``) from end-to-end tests."""

from __future__ import annotations

from typing import Any

import aiohttp


async def passes(tenant: aiohttp.ClientSession) -> dict[str, Any]:
    """Every pass the tenant holds (without its value), by user id."""
    async with tenant.get("/_sandbox/passes.json") as response:
        body = await response.json()
    return {item["userId"]: item for item in body["value"]}


async def outbox(tenant: aiohttp.ClientSession) -> list[dict[str, Any]]:
    """Every email and text message that left the tenant, any pass in them blanked out."""
    async with tenant.get("/_sandbox/outbox.json") as response:
        body: dict[str, list[dict[str, Any]]] = await response.json()
    return body["value"]
