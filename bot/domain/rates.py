"""Per-person limits on clicks that read Microsoft Entra, counted in the store before any read.

Graph's budget is the tenant's, shared by every request: one person looping a card that reads
the directory must not spend it for everyone. Each kind of click has its own bucket and hourly
limit, set generously above what a person does by hand; the count and the check are one step
in the store (`Store.admit`), so several bot processes share them. What reads nothing from the
directory is never metered.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import RateLimit
from bot.domain.policy import REQUESTER_WINDOW
from bot.domain.ports import Clock, Store

# The team list reads each report's passes (up to 21 Graph calls a page); a manager pages and
# refreshes a few times an hour.
TEAM_PAGES_PER_PERSON_PER_HOUR = 60
# "Revoke" and its confirmation each read the person, their manager and their passes.
REVOKE_CLICKS_PER_PERSON_PER_HOUR = 60
# Help (any text tapbot doesn't know) reads the asker's profile, reports and helpdesk
# membership.
HELP_PER_PERSON_PER_HOUR = 30
# Review reads whether the clicker may decide; Teams also sends it by itself each time an
# eligible approver opens the card (``refresh.userIds``), so it is generous.
REVIEWS_PER_PERSON_PER_HOUR = 300
# "Post it again" on a request nobody was shown reads who may decide it and posts to Teams.
REPOSTS_PER_PERSON_PER_HOUR = 20
# "audit" checks helpdesk membership at every click (twice for a filter: before looking the
# typed names up, and for the page) and looks up the names on the page.
AUDIT_VIEWS_PER_PERSON_PER_HOUR = 120

SLOW_DOWN = (
    "You've asked me for this very often in the last hour, so I'm pausing it for a while to "
    "spare Microsoft Entra. Please try again later, or ask the helpdesk if it is urgent."
)


@dataclass(frozen=True, slots=True)
class SlowedDown:
    """A click refused for coming too often; nothing was read. *text* says so."""

    text: str = SLOW_DOWN


class Meter:
    """Counts one person's clicks of one kind against an hourly limit, in the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def admit(self, bucket: str, person_id: str, per_hour: int) -> bool:
        """Count one click of *bucket* by *person_id*; False (and nothing counted) when they
        already made *per_hour* in the last hour. Raises StoreError."""
        now = self._clock.now()
        limit = RateLimit(per_hour, now - REQUESTER_WINDOW)
        return await self._store.admit(bucket, person_id, at=now, limit=limit)
