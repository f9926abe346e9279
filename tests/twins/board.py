"""`FakeBoard`: the `RequestBoard` port in memory, for unit tests.

It records every approval card posted (with the approvers it was meant for) and every update,
as the request stood at that moment, so tests can check what people would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.model import TapRequest


@dataclass(frozen=True, slots=True)
class Posted:
    request: TapRequest
    approver_ids: tuple[str, ...]


class FakeBoard:
    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.shown: list[TapRequest] = []
        self.reachable = True

    async def ask_for_approval(self, request: TapRequest, *, approver_ids: Sequence[str]) -> int:
        if not self.reachable:
            return 0
        self.posted.append(Posted(request, tuple(approver_ids)))
        return 1

    async def show(self, request: TapRequest) -> None:
        self.shown.append(request)

    def last_shown(self, request_id: str) -> TapRequest | None:
        found = [r for r in self.shown if r.id == request_id]
        return found[-1] if found else None
