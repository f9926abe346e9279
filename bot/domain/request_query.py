"""Reading one person's requests page by page: the keyset cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import TapRequest


@dataclass(frozen=True, slots=True)
class RequestCursor:
    """A position among requests ordered by (created_at, id): the request a page ended at.

    Paging on the pair, not on the time alone, neither skips nor repeats requests made in the
    same instant, wherever a page boundary falls among them. A cursor is only a position: it
    grants nothing, and whoever reads with it still says whose requests they read.
    """

    created_at: datetime
    id: str

    @classmethod
    def at(cls, request: TapRequest) -> RequestCursor:
        """The position of *request*."""
        return cls(request.created_at, request.id)
