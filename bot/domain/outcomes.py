"""What the request flow answers: the outcomes of a submit or a click, and the form's choices.

The Teams layer turns each outcome into a card; *text* fields are plain sentences for the
requester (names from the directory unescaped: the card layer escapes them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.errors import (
    DirectoryAccessDenied,
    DirectoryError,
    DirectoryObjectNotFound,
    DirectoryRejected,
    DirectoryThrottled,
)
from bot.domain.model import ApprovalPosting, Decision, DirectoryUser, PassInfo, TapRequest
from bot.domain.policy import Refusal

# Request ids derive from (requester, form id): the same card submitted twice is one request.
_REQUEST_NAMESPACE = uuid.UUID("0b7f2f1e-8d1c-4a55-9a39-5d3e2f6f4c11")


@dataclass(frozen=True, slots=True)
class Refused:
    """The request was refused; *text* says why in the requester's words."""

    reason: Refusal
    text: str
    request: TapRequest | None = None


@dataclass(frozen=True, slots=True)
class ConfirmReplace:
    """The target already has a pass; the requester must confirm replacing it."""

    request: TapRequest
    existing: PassInfo


@dataclass(frozen=True, slots=True)
class Issued:
    """The pass was created and delivered."""

    request: TapRequest


@dataclass(frozen=True, slots=True)
class Failed:
    """Something outside the rules went wrong; nothing valid was left behind."""

    request: TapRequest | None
    text: str


@dataclass(frozen=True, slots=True)
class Unchanged:
    """The request was already handled (a double click or retry): here is where it stands."""

    request: TapRequest


@dataclass(frozen=True, slots=True)
class AwaitingApproval:
    """The request waits for an approval stage; *posting* says how many approval cards went
    out and, when none did, why (nobody who may decide could be shown it yet)."""

    request: TapRequest
    posting: ApprovalPosting


@dataclass(frozen=True, slots=True)
class Decided:
    """An approver's decision was recorded; *request* is where the request stands after it
    (the next stage, denied, or issued or failed when it was the last approval)."""

    request: TapRequest
    decision: Decision


Outcome = Refused | ConfirmReplace | Issued | Failed | Unchanged | AwaitingApproval | Decided


@dataclass(frozen=True, slots=True)
class TargetOption:
    """One direct report on the request card; *refusal* says why they cannot get a pass."""

    user: DirectoryUser
    refusal: Refusal | None
    refusal_text: str = ""


@dataclass(frozen=True, slots=True)
class RequestFormData:
    """What the request card offers this requester right now."""

    targets: Sequence[TargetOption]
    lifetimes: Sequence[int]
    default_lifetime: int
    one_time_forced: bool
    policy_enabled: bool


def request_id_for(requester_id: str, form_id: str) -> str:
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{requester_id}:{form_id}"))


def directory_failure_text(error: DirectoryError) -> str:
    """Plain words for a directory failure, always saying that nothing was issued."""
    if isinstance(error, DirectoryThrottled):
        return (
            "Microsoft Entra is busy right now and asked me to slow down. No pass was issued; "
            "please try again in a minute."
        )
    if isinstance(error, DirectoryAccessDenied):
        return (
            "Microsoft Entra refused me permission for this. No pass was issued; please tell "
            "your IT team (tapbot's Graph permissions need checking)."
        )
    if isinstance(error, DirectoryObjectNotFound):
        return "That person no longer exists in the directory. No pass was issued."
    if isinstance(error, DirectoryRejected):
        # Graph's own message stays in the audit detail (its code); people get plain words.
        return (
            "Microsoft Entra refused to create the pass, probably because its pass policy "
            "changed a moment ago. No pass was issued; please open a new request card, or "
            "tell your IT team if it keeps happening."
        )
    return (
        "I couldn't reach Microsoft Entra just now. No pass was issued; please try again in a "
        "few minutes."
    )
