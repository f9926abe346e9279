"""The read side of requests: what a request card may offer this person, right now.

Nothing here changes state; `bot.domain.workflow` does. Everything offered is re-checked when
the request is submitted, so an offer is a convenience, never a permission. What is shown about
another person is shown only to someone who may ask for them (their manager, or the helpdesk).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.checks import RequestChecks
from bot.domain.delivery_options import (
    CHAT_ONLY,
    ChatReach,
    DeliveryOption,
    DeliverySetup,
    delivery_options,
)
from bot.domain.eligibility import gather_target_facts
from bot.domain.errors import DirectoryError
from bot.domain.model import DeliveryMethod, DirectoryUser, RequestKind
from bot.domain.outcomes import Refused, RequestFormData, TargetOption
from bot.domain.policy import (
    PolicyConfig,
    Refusal,
    allowed_lifetimes,
    check_target,
    default_lifetime,
    needs_helpdesk_approval,
    one_time_forced,
)
from bot.domain.ports import ChatReachability, Clock, Directory, PassIssuer, Store
from bot.domain.rates import Meter
from bot.domain.refusals import message, refusal_message

MAX_SEARCH_RESULTS = 25
MIN_SEARCH_LENGTH = 2
MAX_SEARCH_LENGTH = 100
# Searches read Graph: a person may search often, a script may not flood it.
SEARCHES_PER_PERSON_PER_HOUR = 300
# Picking a person reads who may ask for them (one or two Graph reads) before any refusal.
DETAILS_PER_PERSON_PER_HOUR = 300
# A request card reads every direct report's facts, the directory audit log among them (5
# requests per 10 s per app for the whole tenant): a person opens it a few times an hour, a
# loop must not starve everyone else's requests of that budget.
FORMS_PER_PERSON_PER_HOUR = 30
# A submitted card whose delivery needs the person's details reads them (and may ask Teams
# whether tapbot can reach them) before the request's own limit is counted: a script posting
# forged submits must not spend the tenant's budget that way.
DELIVERY_CHECKS_PER_PERSON_PER_HOUR = 300
SLOW_DOWN = (
    "You've opened request cards very often in the last hour, so I'm pausing for a while to "
    "spare Microsoft Entra. Please try again later, or ask the helpdesk if it is urgent."
)
UNREADABLE = "I couldn't read this person's details from the directory just now"


@dataclass(frozen=True, slots=True)
class RequestDetails:
    """The second step of a request card: one person, and the choices for their pass.

    *kind* is the capacity the requester would ask in; *deliveries* holds every delivery
    method in the card's order, each available for this person or not (and why not), with
    where it would go, masked.
    """

    target: DirectoryUser
    kind: RequestKind
    lifetimes: Sequence[int]
    default_lifetime: int
    one_time_forced: bool
    policy_enabled: bool
    deliveries: Sequence[DeliveryOption]


class RequestOffers:
    """What the request cards offer: a manager's reports, a helpdesk search, one person's form.

    *setup* is what this deployment can deliver with; *reach* tells whether tapbot can reach a
    person in their own Teams chat (needed only when *setup* allows that)."""

    def __init__(
        self,
        *,
        directory: Directory,
        pass_issuer: PassIssuer,
        checks: RequestChecks,
        store: Store,
        clock: Clock,
        config: PolicyConfig,
        setup: DeliverySetup = CHAT_ONLY,
        reach: ChatReachability | None = None,
    ) -> None:
        self._directory = directory
        self._issuer = pass_issuer
        self._checks = checks
        self._meter = Meter(store, clock)
        self._clock = clock
        self._config = config
        self._setup = setup
        self._reach = reach

    @property
    def setup(self) -> DeliverySetup:
        return self._setup

    async def reports(self, requester_id: str) -> RequestFormData | Refused:
        """The requester's direct reports, each marked eligible or not (a recent manager change
        is marked, but still offered: such a request goes to the helpdesk; without a helpdesk
        it is marked `Refusal.NO_HELPDESK`), and the policy's
        choices; refused, before any Graph read, for a flood. Raise DirectoryError when the
        directory cannot be read."""
        if not await self._admit("form", requester_id, FORMS_PER_PERSON_PER_HOUR):
            return Refused(Refusal.RATE_LIMIT_REQUESTER, SLOW_DOWN)
        reports, policy = await asyncio.gather(
            self._directory.list_direct_reports(requester_id), self._issuer.get_policy()
        )
        now = self._clock.now()
        limit = asyncio.Semaphore(8)

        async def option(user: DirectoryUser) -> TargetOption:
            async with limit:
                facts = await gather_target_facts(
                    self._directory,
                    self._issuer,
                    user.id,
                    self._config,
                    now,
                    policy=policy,
                    manager_check=self._checks.manager_check,
                )
            refusal = check_target(requester_id, facts, self._config)
            if refusal is None and needs_helpdesk_approval(facts, self._config, now):
                # Still offered, going to the helpdesk; refused when there is none to decide.
                refusal = (
                    Refusal.NEEDS_HELPDESK_APPROVAL
                    if self._checks.has_helpdesk
                    else Refusal.NO_HELPDESK
                )
            text = refusal_message(refusal, facts, self._config) if refusal else ""
            return TargetOption(user, refusal, text)

        options = await asyncio.gather(*(option(user) for user in reports))
        ordered = sorted(
            options,
            key=lambda o: (
                o.refusal not in (None, Refusal.NEEDS_HELPDESK_APPROVAL),
                o.user.display_name,
            ),
        )
        return RequestFormData(
            targets=ordered,
            lifetimes=allowed_lifetimes(policy, self._config),
            default_lifetime=default_lifetime(policy, self._config),
            one_time_forced=one_time_forced(policy, self._config),
            policy_enabled=policy.enabled,
        )

    async def search(self, requester_id: str, text: str) -> list[DirectoryUser] | Refused:
        """People whose name, UPN or mail starts with *text* (at most 25), for a helpdesk
        member; refused for anyone else, for a query too short or too long, and for a flood.
        Raise DirectoryError when the directory cannot be read."""
        query = " ".join(text.split())
        if not MIN_SEARCH_LENGTH <= len(query) <= MAX_SEARCH_LENGTH:
            return Refused(
                Refusal.INVALID_INPUT,
                f"Type between {MIN_SEARCH_LENGTH} and {MAX_SEARCH_LENGTH} characters of a "
                "name, user name or email address.",
            )
        if not await self._admit("search", requester_id, SEARCHES_PER_PERSON_PER_HOUR):
            return Refused(Refusal.RATE_LIMIT_REQUESTER, message(Refusal.RATE_LIMIT_REQUESTER))
        if not await self._checks.is_helpdesk(requester_id):
            return Refused(Refusal.NOT_HELPDESK, message(Refusal.NOT_HELPDESK))
        found = await self._directory.search_users(query, limit=MAX_SEARCH_RESULTS)
        return [u for u in found if u.id != requester_id][:MAX_SEARCH_RESULTS]

    async def details(self, requester_id: str, target_id: str) -> RequestDetails | Refused:
        """The form for one person, for someone who may ask for them (relationship checked
        first, as on submit; a flood refused before any Graph read). Raise DirectoryError when
        the directory cannot be read."""
        if not await self._admit("details", requester_id, DETAILS_PER_PERSON_PER_HOUR):
            return Refused(Refusal.RATE_LIMIT_REQUESTER, SLOW_DOWN)
        route = await self._checks.route(requester_id, target_id)
        if isinstance(route, Refused):
            return route
        if target_id == requester_id:
            return Refused(Refusal.SELF, message(Refusal.SELF))
        target, policy, reach = await asyncio.gather(
            self._directory.get_user(target_id),
            self._issuer.get_policy(),
            self._chat_reach(target_id),
        )
        return RequestDetails(
            target=target,
            kind=route.kind,
            lifetimes=allowed_lifetimes(policy, self._config),
            default_lifetime=(
                default_lifetime(policy, self._config)
                if allowed_lifetimes(policy, self._config)
                else 0
            ),
            one_time_forced=one_time_forced(policy, self._config),
            policy_enabled=policy.enabled,
            deliveries=delivery_options(target, self._setup, reach),
        )

    async def _admit(self, bucket: str, requester_id: str, per_hour: int) -> bool:
        return await self._meter.admit(bucket, requester_id, per_hour)

    async def admit_delivery_check(self, requester_id: str) -> bool:
        """Count one delivery check (`deliveries` with a method that reads the directory) by
        *requester_id*; False, with nothing counted, past its hourly limit."""
        return await self._admit(
            "delivery_check", requester_id, DELIVERY_CHECKS_PER_PERSON_PER_HOUR
        )

    async def deliveries(
        self, target_id: str, *, asked: DeliveryMethod | None = None
    ) -> tuple[DeliveryOption, ...]:
        """The delivery options for *target_id* as they stand now (`delivery_options`), to
        check a submitted card against. With *asked*, only that method's option is worked
        out, reading only what it needs: the requester's own chat needs nothing from the
        directory. Never raises for a directory failure: the options that need the person's
        details are then unavailable, saying why. Shows nothing to anyone: the relationship is
        checked when the request is submitted."""
        if asked is DeliveryMethod.CHAT_TO_REQUESTER:
            # The requester is in their chat with tapbot right now.
            return (DeliveryOption(DeliveryMethod.CHAT_TO_REQUESTER, True),)
        wanted: set[DeliveryMethod] | None = None if asked is None else {asked}
        try:
            target, reach = await asyncio.gather(
                self._directory.get_user(target_id),
                self._chat_reach(target_id, wanted=wanted),
            )
        except DirectoryError:
            methods = [asked] if asked else list(DeliveryMethod)
            return tuple(
                DeliveryOption(m, True)
                if m is DeliveryMethod.CHAT_TO_REQUESTER
                else DeliveryOption(m, False, why_not=UNREADABLE)
                for m in methods
            )
        options = delivery_options(target, self._setup, reach)
        return tuple(o for o in options if wanted is None or o.method in wanted)

    async def _chat_reach(
        self, user_id: str, *, wanted: set[DeliveryMethod] | None = None
    ) -> ChatReach:
        """Whether tapbot can reach *user_id* in their own chat; asked only when the options
        need it (it may cost a Graph call)."""
        needed = wanted is None or DeliveryMethod.CHAT_TO_TARGET in wanted
        if self._reach is None or not self._setup.chat_to_target or not needed:
            return ChatReach()
        return await self._reach.chat_reach(user_id)
