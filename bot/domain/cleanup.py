"""Deleting passes that must not stay valid: undelivered, orphaned, or of unknown fate.

Every attempt is audited. A deletion that fails is reported as such (never as done), so the
caller can tell the requester the truth and `Upkeep` can try again later.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryError, DirectoryObjectNotFound
from bot.domain.model import TapRequest
from bot.domain.ports import PassIssuer

# Clocks differ between us and Graph; a pass created this much before we asked still counts.
CLOCK_SKEW = timedelta(minutes=2)


class PassCleanup:
    def __init__(self, pass_issuer: PassIssuer, auditor: Auditor) -> None:
        self._issuer = pass_issuer
        self._audit = auditor

    async def delete(self, request: TapRequest, pass_id: str) -> bool:
        """Delete *pass_id* of *request*'s target; True when it is gone (or already was)."""
        try:
            await self._issuer.delete_pass(request.target_id, pass_id)
        except DirectoryObjectNotFound:
            pass
        except DirectoryError as error:
            await self._audit.record(
                "pass",
                "delete_failed",
                actor_id="tapbot",
                target_id=request.target_id,
                request_id=request.id,
                detail={"code": error.code, "pass_id": pass_id},
            )
            return False
        await self._audit.record(
            "pass",
            "deleted",
            actor_id="tapbot",
            target_id=request.target_id,
            request_id=request.id,
            detail={"pass_id": pass_id},
        )
        return True

    async def delete_created_since(self, request: TapRequest) -> bool:
        """Delete the target's passes created since *request* started issuing (a create whose
        answer was lost may have made one). True when none is left; False when unknown."""
        since = request.updated_at - CLOCK_SKEW
        try:
            passes = await self._issuer.list_passes(request.target_id)
        except DirectoryError:
            return False
        results = [
            await self.delete(request, info.id)
            for info in passes
            if info.created_at is None or info.created_at >= since
        ]
        return all(results)
