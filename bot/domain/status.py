"""The asker's own requests and where each stands ("status"), newest first, a page at a time,
and withdrawing one that waits.

Only the asker's requests are ever read: their id comes from the authenticated activity and is
part of every query, and a cursor from a card is only a position in *their* list. Where a
request stands is told from the stored request alone, without the directory: the names are the
ones the request was made and decided with, and whether its approval card reached anyone
from the copies of its cards the store keeps. Cancelling, and posting an approval card nobody
was shown again, go through the one lifecycle (`RequestService.cancel`, `.repost`), which
checks that the request is the asker's, audits, and updates every copy of the request's cards.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.domain.approvals import describe_stage
from bot.domain.issuing import MAYBE_CREATED, UNDELETED, UNDELIVERABLE
from bot.domain.model import Decision, RequestState, TapRequest
from bot.domain.outcomes import AwaitingApproval, Refused, Unchanged
from bot.domain.policy import Refusal
from bot.domain.ports import Clock, Store
from bot.domain.refusals import describe_minutes, message
from bot.domain.request_query import RequestCursor
from bot.domain.workflow import CONFIRMATION_VALID, Person, RequestService

STATUS_PAGE_SIZE = 10


class Standing(enum.StrEnum):
    """Where a request stands, as the person who asked needs to know it."""

    AWAITING_APPROVAL = "awaiting_approval"  # a stage waits for an approver's decision
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # waits for the asker: replace a live pass?
    CONFIRMATION_LAPSED = "confirmation_lapsed"  # that question was not answered in time
    ISSUING = "issuing"  # approved: the pass is being created and delivered
    ISSUED = "issued"
    DENIED = "denied"
    REFUSED = "refused"  # a rule stopped it when it was checked again before issuing
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


WAITING = frozenset({Standing.AWAITING_APPROVAL, Standing.AWAITING_CONFIRMATION})

# Why a request failed, by the reason the lifecycle stored: what happened and whether a pass
# from it may still work, in the asker's words. No names: the card names the person. The one
# source of these words: the status card and every copy of the request's own card use them
# (`failure_status`).
FAILURES: Mapping[str, str] = {
    UNDELIVERABLE: (
        "When the pass was about to be created, the way chosen to deliver it no longer reached "
        "the person, so no pass was made."
    ),
    "delivery_failed": (
        "The pass was created but couldn't be delivered, so I deleted it again. No pass from "
        "this request works."
    ),
    UNDELETED: (
        "The pass was created but couldn't be delivered, and Microsoft Entra hasn't let me "
        "delete it yet. I keep trying: don't use any pass from this request."
    ),
    MAYBE_CREATED: (
        "Microsoft Entra stopped answering while creating the pass, so I can't tell whether it "
        "made one. If it did, I delete it as soon as Entra answers: don't use any pass from "
        "this request."
    ),
    "pass_deleted_later": (
        "Issuing went wrong part-way; I have since deleted the pass, so no pass from this "
        "request works."
    ),
    "pass_expired_undeleted": (
        "Issuing went wrong part-way, and Microsoft Entra didn't let me delete the pass before "
        "it expired on its own. It no longer works."
    ),
    "interrupted": (
        "Issuing was interrupted (tapbot restarted or took too long), so I deleted any pass it "
        "had made. No pass from this request works."
    ),
    "directory_error": (
        "I couldn't reach Microsoft Entra, or it refused, while issuing the pass, so no pass "
        "was issued. Please request again."
    ),
    "issue_in_progress": (
        "Another request for the same person was being issued at that moment, so this one "
        "ended without a pass."
    ),
}
UNKNOWN_FAILURE = (
    "It ended without a pass. The helpdesk can see why in the audit trail, if you need to know."
)
CANCELLED_WHY: Mapping[str, str] = {
    "cancelled_by_requester": "You cancelled it, so no pass was issued.",
    "confirmation_expired": (
        "You didn't confirm replacing the existing pass in time, so nothing was replaced and "
        "no pass was issued."
    ),
}
KEPT_EXISTING = "You kept the pass the person already had, so no new pass was issued."
CANCELLED_OTHERWISE = "It was cancelled, so no pass was issued."


@dataclass(frozen=True, slots=True)
class RequestStatus:
    """Where one request stands.

    *until* is when the wait ends (the stage's timeout, or when the replacement question
    lapses) for a waiting request, and when the pass stops working for an issued one.
    *pass_over* is True for an issued pass whose validity has ended. *waiting_for* says who
    may decide the waiting stage (`describe_stage`); *unseen* is True when nobody who may
    decide it has been shown its approval card; *denial* is the decision that denied it;
    *why* is a sentence saying why it ended without a pass.
    """

    request: TapRequest
    standing: Standing
    until: datetime | None = None
    waiting_for: str = ""
    denial: Decision | None = None
    why: str = ""
    pass_over: bool = False
    unseen: bool = False

    @property
    def can_cancel(self) -> bool:
        """True while it waits (for an approver or for the asker): Cancel is offered."""
        return self.standing in WAITING

    @property
    def can_repost(self) -> bool:
        """True while it waits for an approver nobody has shown it to: "Post it again"."""
        return self.standing is Standing.AWAITING_APPROVAL and self.unseen


@dataclass(frozen=True, slots=True)
class StatusPage:
    """Up to a page of one person's requests, newest first.

    *older_than* is where this page starts (None: the newest page); *older* is where the next
    older page starts, *newer* the position to read the newer page from; each is None when
    there is no such page.
    """

    statuses: tuple[RequestStatus, ...]
    older_than: RequestCursor | None
    older: RequestCursor | None
    newer: RequestCursor | None


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The request was waiting and is cancelled now; *status* is where it stands."""

    status: RequestStatus


@dataclass(frozen=True, slots=True)
class NotWaiting:
    """The request no longer waits (decided, expired, issued or cancelled before): nothing
    changed; *status* says where it stands."""

    status: RequestStatus


@dataclass(frozen=True, slots=True)
class CancelRefused:
    """Not the asker's request, or none at all: nothing changed (audited); *text* says so."""

    text: str


CancelOutcome = Cancelled | NotWaiting | CancelRefused


@dataclass(frozen=True, slots=True)
class Reposted:
    """The approval card was posted again; *status* says whether anyone was shown it now
    (``status.unseen`` False) or still nobody."""

    status: RequestStatus


@dataclass(frozen=True, slots=True)
class NotReposted:
    """Nothing was posted: not the asker's request, none at all, asked too often (*text*
    says which, in words), or the request no longer waits or was already shown (*status*)."""

    text: str = ""
    status: RequestStatus | None = None


RepostOutcome = Reposted | NotReposted


def status_of(request: TapRequest, now: datetime) -> RequestStatus:
    """Where *request* stands at *now*."""
    match request.state:
        case RequestState.PENDING_APPROVAL:
            stage = request.current_stage
            if stage is None:  # a stored plan that does not hold the stage: still waiting
                return RequestStatus(request, Standing.AWAITING_APPROVAL, request.stage_due_at)
            who = describe_stage(
                stage,
                requester_name=request.requester_name,
                deciders=[d.decider_name for d in request.decisions],
            )
            return RequestStatus(
                request, Standing.AWAITING_APPROVAL, request.stage_due_at, waiting_for=who
            )
        case RequestState.DRAFT:
            lapses = request.updated_at + CONFIRMATION_VALID
            if now > lapses:
                return RequestStatus(request, Standing.CONFIRMATION_LAPSED, lapses)
            return RequestStatus(request, Standing.AWAITING_CONFIRMATION, lapses)
        case RequestState.APPROVED | RequestState.ISSUING:
            return RequestStatus(request, Standing.ISSUING)
        case RequestState.DELIVERED:
            ends = request.pass_ends_at
            over = ends is not None and ends <= now
            return RequestStatus(request, Standing.ISSUED, ends, pass_over=over)
        case RequestState.DENIED:
            denials = [d for d in request.decisions if not d.approved]
            return RequestStatus(request, Standing.DENIED, denial=denials[-1] if denials else None)
        case RequestState.EXPIRED:
            return RequestStatus(request, Standing.EXPIRED, why=_expiry(request))
        case RequestState.CANCELLED:
            return RequestStatus(request, Standing.CANCELLED, why=_cancellation(request))
        case RequestState.FAILED:
            return failure_status(request)


def failure_status(request: TapRequest) -> RequestStatus:
    """Why *request* ended without a pass once it was under way: ``FAILED`` with what went
    wrong (`FAILURES`), or ``REFUSED`` with the rule that stopped it when it was checked again
    before issuing. Meant for a failed request; any other gets the general words."""
    reason = request.reason or ""
    # Internal reasons first: "issue_in_progress" is also a Refusal's code, but stored on a
    # failed request it means another request's pass was being issued.
    if reason in FAILURES:
        return RequestStatus(request, Standing.FAILED, why=FAILURES[reason])
    if reason in Refusal.__members__.values():
        why = message(Refusal(reason), name=request.target_name)
        return RequestStatus(request, Standing.REFUSED, why=why)
    return RequestStatus(request, Standing.FAILED, why=UNKNOWN_FAILURE)


def _expiry(request: TapRequest) -> str:
    stages = len(request.stages)
    if not 1 <= request.stage <= stages:
        return "Nobody decided it in time, so no pass was issued."
    waited = describe_minutes(request.stages[request.stage - 1].timeout_minutes)
    step = "it" if stages == 1 else f"step {request.stage} of {stages}"
    return f"Nobody decided {step} within {waited}, so no pass was issued."


def _cancellation(request: TapRequest) -> str:
    reason = request.reason or ""
    if reason == "cancelled_by_requester" and _was_a_replacement_question(request):
        return KEPT_EXISTING
    return CANCELLED_WHY.get(reason, CANCELLED_OTHERWISE)


def _was_a_replacement_question(request: TapRequest) -> bool:
    """True when the request was cancelled while asking whether to replace a live pass: it
    had no approvals left to wait for (none planned, or every one approved)."""
    approved = {d.stage for d in request.decisions if d.approved}
    return all(n in approved for n in range(1, len(request.stages) + 1))


class MyRequests:
    """The "status" read side: one person's requests, a page at a time, and cancelling."""

    def __init__(
        self,
        *,
        store: Store,
        requests: RequestService,
        clock: Clock,
        page_size: int = STATUS_PAGE_SIZE,
    ) -> None:
        if page_size < 1:
            raise ValueError("a page holds at least one request")
        self._store = store
        self._requests = requests
        self._clock = clock
        self._size = page_size

    async def page(
        self,
        requester_id: str,
        *,
        older_than: RequestCursor | None = None,
        newer_than: RequestCursor | None = None,
    ) -> StatusPage:
        """*requester_id*'s newest requests; those made before *older_than*; or, with
        *newer_than*, the page just above that position (the newest page when fewer than a
        page lie above it). Never anyone else's. Raises StoreError."""
        if newer_than is not None:
            above = await self._mine(requester_id, newer_than, oldest_first=True)
            # Read back as the page older than the first request above it, so every page,
            # however reached, is named by where it starts.
            older_than = RequestCursor.at(above[-1]) if len(above) > self._size else None
        found = await self._mine(requester_id, older_than, oldest_first=False)
        shown = found[: self._size]
        if older_than is not None and not shown:
            # Nothing of theirs lies past a cursor the card carried: show the newest instead.
            return await self.page(requester_id)
        now = self._clock.now()
        return StatusPage(
            statuses=tuple([await self._with_reach(status_of(r, now)) for r in shown]),
            older_than=older_than,
            older=RequestCursor.at(shown[-1]) if len(found) > self._size else None,
            newer=RequestCursor.at(shown[0]) if older_than is not None else None,
        )

    async def cancel(self, requester: Person, request_id: str) -> CancelOutcome:
        """Cancel *request_id* for *requester* (from the authenticated activity) if it is
        theirs and still waits. Raises StoreError."""
        before = await self._store.get_request(request_id) if request_id else None
        was_waiting = (
            before is not None
            and before.requester_id == requester.id
            and before.state in (RequestState.DRAFT, RequestState.PENDING_APPROVAL)
        )
        outcome = await self._requests.cancel(requester, request_id)
        if isinstance(outcome, Refused):
            return CancelRefused(outcome.text)
        request = outcome.request if isinstance(outcome, Unchanged) else None
        if request is None or request.requester_id != requester.id:
            # `RequestService.cancel` answers Refused or Unchanged; anything else is treated
            # as the request not being there to cancel.
            return CancelRefused(message(Refusal.NOT_YOUR_REQUEST))
        status = status_of(request, self._clock.now())
        if was_waiting and request.state is RequestState.CANCELLED:
            return Cancelled(status)
        return NotWaiting(status)

    async def repost(self, requester: Person, request_id: str) -> RepostOutcome:
        """Post the approval card of *requester*'s request again when nobody who may decide it
        was shown it (`RequestService.repost`: checked, audited, rate-limited). Raises
        StoreError."""
        outcome = await self._requests.repost(requester, request_id)
        now = self._clock.now()
        match outcome:
            case AwaitingApproval(request, posting) if request.requester_id == requester.id:
                status = status_of(request, now)
                return Reposted(dataclasses.replace(status, unseen=not posting.posted))
            case Unchanged(request) if request.requester_id == requester.id:
                return NotReposted(status=await self._with_reach(status_of(request, now)))
            case Refused(_, text, _):
                return NotReposted(text)
        return NotReposted(message(Refusal.NOT_YOUR_REQUEST))

    async def _with_reach(self, status: RequestStatus) -> RequestStatus:
        """*status*, marked *unseen* when it waits for an approver nobody was shown it to."""
        if status.standing is not Standing.AWAITING_APPROVAL:
            return status
        if await self._requests.shown(status.request):
            return status
        return dataclasses.replace(status, unseen=True)

    async def _mine(
        self,
        requester_id: str,
        after: RequestCursor | None,
        *,
        oldest_first: bool,
    ) -> list[TapRequest]:
        """Up to a page and one more of *requester_id*'s requests past *after*: the one more
        tells whether another page lies beyond."""
        return await self._store.list_requests(
            requester_id=requester_id, after=after, oldest_first=oldest_first, limit=self._size + 1
        )
