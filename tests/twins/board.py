"""`FakeBoard`: the `RequestBoard` port in memory, for unit tests.

It records every approval card posted (with the approvers it was meant for) and every update,
as the request stood at that moment, so tests can check what people would have seen. Given a
store and a clock, it remembers each posted copy there as `TeamsBoard` does (a ``channel``
copy for the stage), so whether a stage was shown can be told from the store. Set *unseen* to make
the next posts reach nobody, for that reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.model import (
    ApprovalPosting,
    RequestMessage,
    TapRequest,
    Unseen,
    approval_copy,
)
from bot.domain.ports import Clock, Store


@dataclass(frozen=True, slots=True)
class Posted:
    request: TapRequest
    approver_ids: tuple[str, ...]


class FakeBoard:
    def __init__(self, store: Store | None = None, clock: Clock | None = None) -> None:
        self.posted: list[Posted] = []
        self.shown: list[TapRequest] = []
        self.unseen: Unseen | None = None
        self._store = store
        self._clock = clock

    async def ask_for_approval(
        self, request: TapRequest, *, approver_ids: Sequence[str]
    ) -> ApprovalPosting:
        if self.unseen is not None:
            return ApprovalPosting(0, self.unseen)
        self.posted.append(Posted(request, tuple(approver_ids)))
        if self._store is not None and self._clock is not None:
            await self._store.add_request_message(
                RequestMessage(
                    request_id=request.id,
                    audience=approval_copy("channel", request.stage),
                    activity_id=f"card-{len(self.posted)}",
                    reference={"conversation": {"id": "19:helpdesk"}},
                    posted_at=self._clock.now(),
                )
            )
        return ApprovalPosting(1)

    async def show(self, request: TapRequest) -> None:
        self.shown.append(request)

    def last_shown(self, request_id: str) -> TapRequest | None:
        found = [r for r in self.shown if r.id == request_id]
        return found[-1] if found else None
