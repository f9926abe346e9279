"""Deleting passes that must not stay valid: undelivered, orphaned, or of unknown fate.

Every attempt is audited. A deletion that fails is reported as such (never as done), so the
caller can tell the requester the truth and `Upkeep` can try again later.

A pass of unknown fate (the answer to its creation was lost) is looked for only among the passes
created inside that request's issuing window (`TapRequest.issuing_started_at` to
``issuing_ended_at``, widened by the clock skew between us and Graph), and a pass that another
request delivered is never touched, whenever it was made.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryError, DirectoryObjectNotFound, StoreError
from bot.domain.model import PassInfo, RequestState, TapRequest
from bot.domain.ports import PassIssuer, Store

# Clocks differ between us and Graph; a pass created this much outside the window still counts.
CLOCK_SKEW = timedelta(minutes=2)
# The longest a creation can take (Graph's timeout and retries): the window's end when a crash
# left it unrecorded.
LONGEST_CREATION = timedelta(minutes=10)


def issuing_window(request: TapRequest) -> tuple[datetime, datetime] | None:
    """The span in which *request*'s pass may have been created, skew included; None when the
    request never started creating one."""
    started = request.issuing_started_at
    if started is None:
        return None
    ended = request.issuing_ended_at or started + LONGEST_CREATION
    return started - CLOCK_SKEW, ended + CLOCK_SKEW


class PassCleanup:
    def __init__(self, pass_issuer: PassIssuer, auditor: Auditor, store: Store) -> None:
        self._issuer = pass_issuer
        self._audit = auditor
        self._store = store

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

    async def delete_from_window(self, request: TapRequest) -> bool:
        """Delete the target's passes created inside *request*'s issuing window (a creation
        whose answer was lost may have made one), sparing any pass another request delivered.
        True when none is left; False when that cannot be told yet."""
        window = issuing_window(request)
        if window is None:
            return True
        try:
            passes = await self._issuer.list_passes(request.target_id)
            delivered = await self._delivered_pass_ids(request)
        except (DirectoryError, StoreError):
            return False
        doomed = [
            info for info in passes if _made_within(info, window) and info.id not in delivered
        ]
        results = [await self.delete(request, info.id) for info in doomed]
        return all(results)

    async def _delivered_pass_ids(self, request: TapRequest) -> set[str]:
        others = await self._store.list_requests(
            target_id=request.target_id, states=(RequestState.DELIVERED,), limit=1000
        )
        return {other.pass_id for other in others if other.pass_id and other.id != request.id}


def _made_within(info: PassInfo, window: tuple[datetime, datetime]) -> bool:
    # A pass without a creation time cannot be placed outside the window: it may be ours.
    return info.created_at is None or window[0] <= info.created_at <= window[1]
