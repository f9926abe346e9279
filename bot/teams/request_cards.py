"""The request card's conversation: open the form, find a person, take a submit, answer with
where the request stands.

Each method takes the authenticated caller and the card's untrusted data and returns the card
that replaces the one the person clicked (an Action.Execute response). The domain decides
(`RequestOffers` what to offer, `RequestService` what happens); this module only translates
between cards and the domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from botbuilder.schema import ConversationReference

from bot.domain.delivery_options import DeliveryOption
from bot.domain.errors import DirectoryError, StoreError
from bot.domain.model import (
    REQUESTER_COPY,
    DeliveryMethod,
    DirectoryUser,
    RequestKind,
    RequestState,
    TapRequest,
)
from bot.domain.offers import RequestDetails, RequestOffers
from bot.domain.outcomes import (
    AwaitingApproval,
    ConfirmReplace,
    Decided,
    Failed,
    Issued,
    Outcome,
    Refused,
    Unchanged,
    directory_failure_text,
)
from bot.domain.policy import Refusal
from bot.domain.rates import SLOW_DOWN
from bot.domain.request_form import InvalidForm, parse_request_form
from bot.domain.workflow import Person, RequestService
from bot.teams.board import TeamsBoard
from bot.teams.delivery_choices import delivery_choices
from bot.teams.identity import Caller
from bot.teams.views import delivered_line
from cards.request import (
    NUMBER_MAX,
    DeliveryChoices,
    RequestFormView,
    TargetChoice,
    confirm_replace_card,
    outcome_card,
    request_form_card,
    when,
)
from cards.search import DetailsView, PersonChoice, SearchView, details_card, search_card
from cards.text import Part, name, sentence

log = structlog.get_logger(__name__)

Card = dict[str, Any]
# Short reasons for the target list; the full sentence comes if the person is chosen anyway.
NOT_ELIGIBLE: dict[Refusal, str] = {
    Refusal.DISABLED: "account disabled",
    Refusal.GUEST: "guest account",
    Refusal.PRIVILEGED_ROLE: "administrator",
    Refusal.PRIVILEGED_ROLE_ELIGIBLE: "can become an administrator",
    Refusal.BLOCKED_GROUP: "protected account",
    Refusal.NOT_IN_POLICY_SCOPE: "outside the pass policy",
    Refusal.ROLE_CHECK_FAILED: "couldn't check administrator roles",
    Refusal.NO_HELPDESK: "manager changed recently, and no helpdesk is set up to approve",
}
HELPDESK_NOTE = "manager changed recently: the helpdesk approves"
POLICY_OFF = (
    "Temporary Access Pass is switched off in this organisation's Entra policy, so no pass can "
    "be issued until IT switches it on."
)
# The inputs of the pass step, shown again as typed when the card comes back with a problem.
_PREFILLED = (
    "lifetime",
    "one_time",
    "start",
    "start_date",
    "start_time",
    "delivery",
    "sms_number",
    "justification",
)
_PREFILL_MAX = 500


class RequestCards:
    """Cards for making a request, backed by `RequestOffers` and `RequestService`."""

    def __init__(
        self,
        requests: RequestService,
        offers: RequestOffers,
        board: TeamsBoard,
        timezone: ZoneInfo,
        *,
        is_helpdesk: Callable[[str], Awaitable[bool]],
    ) -> None:
        self._requests = requests
        self._offers = offers
        self._board = board
        self._timezone = timezone
        self._is_helpdesk = is_helpdesk

    async def form(self, caller: Caller, *, notice: str = "") -> Card:
        """A fresh request card: the caller's direct reports, with a way to search for anyone
        else when they are in the helpdesk; the search alone for a helpdesk member without
        reports."""
        try:
            data = await self._offers.reports(caller.user_id)
            if isinstance(data, Refused):
                return outcome_card("I can't open the request card", [data.text], attention=True)
            helpdesk = await self._is_helpdesk(caller.user_id)
        except DirectoryError as error:
            return _cannot_open(error)
        if not data.targets and helpdesk:
            return search_card(SearchView(notice=notice))
        targets = [
            TargetChoice(
                option.user.id,
                option.user.display_name,
                option.user.job_title or "",
                (
                    NOT_ELIGIBLE.get(option.refusal, "ask the helpdesk")
                    if option.refusal and option.refusal is not Refusal.NEEDS_HELPDESK_APPROVAL
                    else ""
                ),
                HELPDESK_NOTE if option.refusal is Refusal.NEEDS_HELPDESK_APPROVAL else "",
            )
            for option in data.targets
        ]
        if not data.targets:
            notice = notice or (
                "You have no direct reports in the directory and you aren't in the helpdesk, "
                "so there is no one you can request a pass for."
            )
        return request_form_card(
            RequestFormView(
                form_id=str(uuid.uuid4()),
                targets=targets,
                notice=notice or ("" if data.policy_enabled else POLICY_OFF),
                can_search=helpdesk,
            )
        )

    async def search(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """Step one for the helpdesk: people matching the typed text."""
        query = data.get("query")
        text = query if isinstance(query, str) else ""
        try:
            found = await self._offers.search(caller.user_id, text)
        except DirectoryError as error:
            return search_card(SearchView(text[:100], notice=directory_failure_text(error)))
        if isinstance(found, Refused):
            if found.reason is Refusal.NOT_HELPDESK:
                return outcome_card("I can't search for you", [found.text], attention=True)
            return search_card(SearchView(text[:100], notice=found.text))
        return search_card(SearchView(text, [_choice(user) for user in found]))

    async def typeahead(self, caller: Caller, text: str) -> list[dict[str, str]]:
        """Results for a typeahead list (``application/search``); empty when refused."""
        try:
            found = await self._offers.search(caller.user_id, text)
        except DirectoryError:
            return []
        if isinstance(found, Refused):
            return []
        return [{"title": _choice(u).title, "value": u.id} for u in found[:15]]

    async def details(
        self, caller: Caller, data: Mapping[str, object], *, notice: str = ""
    ) -> Card:
        """Step two: the pass for the person picked (a manager's report or a helpdesk search
        result), offering only the deliveries that work for them. The request keeps the
        *form_id* step one gave it. With *notice*, the card comes back after a problem the
        requester can fix, with what they had filled in."""
        target = data.get("target")
        if not isinstance(target, str) or not 0 < len(target) <= 64:
            return await self.form(caller, notice="Choose the person who needs the pass first.")
        try:
            details = await self._offers.details(caller.user_id, target.strip().lower())
        except DirectoryError as error:
            return _cannot_open(error)
        if isinstance(details, Refused):
            # A card shown again ends as a submit would, saying nothing more about the person.
            title = "No pass was requested" if notice else "No pass can be requested"
            return outcome_card(title, [details.text], attention=True)
        person = details.target
        return details_card(
            DetailsView(
                form_id=_form_id(data),
                target_id=person.id,
                target_name=person.display_name,
                target_detail=", ".join(
                    part for part in (person.job_title, person.user_principal_name) if part
                ),
                lifetimes=details.lifetimes,
                default_lifetime=details.default_lifetime,
                one_time_forced=details.one_time_forced,
                deliveries=_delivery_choices(details),
                timezone=self._timezone.key,
                approval_note=(
                    "Another helpdesk member approves this request before the pass is issued."
                    if details.kind is RequestKind.HELPDESK
                    else ""
                ),
                notice=notice or ("" if details.policy_enabled else POLICY_OFF),
                values=_prefill(data) if notice else {},
            )
        )

    async def submit(
        self,
        caller: Caller,
        data: Mapping[str, object],
        place: tuple[ConversationReference, str] | None = None,
    ) -> Card:
        """Take a submitted request card; *place* is where that card is (its conversation and
        activity), so it can be updated while the request waits for approval."""
        # What works for this person now is worked out here, never taken from the card (a
        # target or method not even shaped right is refused by the parse, unread).
        target, method = _target_of(data), _method_of(data)
        options: tuple[DeliveryOption, ...] = ()
        if target and method:
            if method is not DeliveryMethod.CHAT_TO_REQUESTER and not (
                await self._offers.admit_delivery_check(caller.user_id)
            ):
                refused = await self._requests.refuse_flood(
                    caller.user_id, "delivery_check", SLOW_DOWN
                )
                return self.card_for(refused)
            options = await self._offers.deliveries(target, asked=method)
        try:
            form = parse_request_form(
                data,
                timezone=self._timezone,
                deliveries=options,
                sms_region=self._offers.setup.default_region,
            )
        except InvalidForm as invalid:
            outcome: Outcome = await self._requests.refuse_input(
                caller.user_id, invalid.field, invalid.problem, text=invalid.tell
            )
            if invalid.tell:
                # Something the requester can fix: the same card again, as they filled it.
                return await self.details(caller, data, notice=invalid.tell)
        else:
            outcome = await self._requests.submit(Person(caller.user_id, caller.name), form)
        if isinstance(outcome, AwaitingApproval) and place is not None:
            await self._board.remember(outcome.request.id, REQUESTER_COPY, *place)
        if (
            isinstance(outcome, Unchanged)
            and outcome.request.state is RequestState.PENDING_APPROVAL
            and not await self._requests.shown(outcome.request)
        ):
            # The card submitted again (a double click, a retry) still says nobody was shown
            # it, and keeps "Post it again".
            return self._board.requester_card(outcome.request, unseen=True)
        return self.card_for(outcome)

    async def replace(self, caller: Caller, data: Mapping[str, object]) -> Card:
        person = Person(caller.user_id, caller.name)
        return self.card_for(await self._requests.confirm_replace(person, _request_id(data)))

    async def cancel(self, caller: Caller, data: Mapping[str, object]) -> Card:
        person = Person(caller.user_id, caller.name)
        return self.card_for(await self._requests.cancel(person, _request_id(data)))

    async def helpdesk_channel_known(self) -> None:
        """tapbot was just installed in the helpdesk's team: approval cards of waiting
        requests that reached nobody go out now, without their requesters asking."""
        try:
            posted = await self._requests.ask_where_unseen()
        except StoreError:
            # The requesters were told and can still post their cards again themselves.
            log.exception("unseen_approval_cards_not_posted")
            return
        if posted:
            log.info("unseen_approval_cards_posted", count=posted)

    async def repost(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """The requester clicked "Post it again" on a request whose approval card reached
        nobody."""
        person = Person(caller.user_id, caller.name)
        outcome = await self._requests.repost(person, _request_id(data))
        if isinstance(outcome, Refused) and outcome.request is not None:
            # Too many tries: the request still waits, and its card says so.
            return self._board.requester_card(outcome.request, unseen=True, note=outcome.text)
        return self.card_for(outcome)

    def card_for(self, outcome: Outcome, *, own_chat: str = "in this chat") -> Card:
        """The card that shows *outcome* to the requester. *own_chat* says where a pass "to
        me" went, for a card that may sit elsewhere than the requester's chat with tapbot."""
        match outcome:
            case Issued(request):
                return self._issued(request, own_chat)
            case ConfirmReplace(request, existing):
                return confirm_replace_card(
                    request_id=request.id,
                    target_name=request.target_name,
                    active_until=when(existing.ends_at, self._timezone),
                )
            case Refused(_, text, _):
                return outcome_card("No pass was requested", [text], attention=True)
            case Failed(_, text):
                return outcome_card("The pass could not be issued", [text], attention=True)
            case AwaitingApproval(request, posting) if not posting.posted:
                return self._board.requester_card(request, unseen=True, why=posting.unseen)
            case AwaitingApproval(request, _) | Unchanged(request) | Decided(request, _):
                return self._where_it_stands(request, own_chat)

    def _issued(self, request: TapRequest, own_chat: str) -> Card:
        person = name(request.target_name)
        until = when(request.pass_ends_at, self._timezone) if request.pass_ends_at else ""
        valid = f" (valid until {until})" if until else ""
        lines: list[Part]
        if request.delivery is DeliveryMethod.CHAT_TO_REQUESTER:
            lines = [
                sentence(
                    f"I've sent the pass to you {own_chat}{valid}. Hand it to ",
                    person,
                    " in person or on a call, once you are sure it's them.",
                )
            ]
        else:
            lines = [
                sentence("The pass was ", delivered_line(request), f"{valid}."),
                sentence(
                    "Let ",
                    person,
                    " know it is on its way. Nobody from IT will ever ask them for it.",
                ),
            ]
        lines.append(sentence("Reason given: ", name(request.justification)))
        return outcome_card(sentence("Pass issued for ", person), lines)

    def _where_it_stands(self, request: TapRequest, own_chat: str) -> Card:
        person = name(request.target_name)
        if request.state is RequestState.DELIVERED:
            return self._issued(request, own_chat)
        if request.state is RequestState.CANCELLED and not request.stages:
            return outcome_card(
                "Nothing changed",
                [sentence("You kept ", person, "'s existing pass; no new pass was issued.")],
            )
        if request.state is RequestState.FAILED and not request.stages:
            return outcome_card(
                "The pass could not be issued",
                [
                    sentence(
                        "This request for ", person, " ended without a pass. Please request again."
                    )
                ],
                attention=True,
            )
        if request.stages or request.state is RequestState.DRAFT:
            return self._board.requester_card(request)
        return outcome_card(
            "Already in progress",
            [sentence("I'm already working on this request for ", person, ".")],
        )


def _choice(user: DirectoryUser) -> PersonChoice:
    note = "account disabled" if not user.account_enabled else ("guest" if user.is_guest else "")
    detail = ", ".join(part for part in (user.job_title, user.user_principal_name) if part)
    return PersonChoice(user.id, user.display_name, detail, note)


def _delivery_choices(details: RequestDetails) -> DeliveryChoices:
    target = details.target
    return delivery_choices(details.deliveries, name(target.given_name or target.display_name).text)


def _target_of(data: Mapping[str, object]) -> str:
    """The submitted target id, normalised, or empty when it is not even shaped like one (the
    form's parse refuses it then, before anything is read)."""
    value = data.get("target")
    if not isinstance(value, str):
        return ""
    value = value.strip().lower()
    try:
        return value if str(uuid.UUID(value)) == value else ""
    except ValueError:
        return ""


def _method_of(data: Mapping[str, object]) -> DeliveryMethod | None:
    value = data.get("delivery")
    try:
        return DeliveryMethod(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _form_id(data: Mapping[str, object]) -> str:
    """The request's form id from step one, or a new one (the helpdesk's search has none)."""
    value = data.get("form_id")
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    return str(uuid.uuid4())


def _prefill(data: Mapping[str, object]) -> dict[str, str]:
    """The pass inputs as submitted, for the card shown again (text only, within bounds)."""
    limits = {"sms_number": NUMBER_MAX}
    return {
        key: value
        for key in _PREFILLED
        if isinstance(value := data.get(key), str) and len(value) <= limits.get(key, _PREFILL_MAX)
    }


def _cannot_open(error: DirectoryError) -> Card:
    return outcome_card(
        "I can't open the request card", [directory_failure_text(error)], attention=True
    )


def _request_id(data: Mapping[str, object]) -> str:
    value = data.get("request_id")
    return value if isinstance(value, str) and len(value) <= 64 else ""
