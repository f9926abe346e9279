"""The rules tapbot enforces before it issues a pass (PRODUCT.md, "Rules the bot enforces").

Pure functions over values: no I/O, no clock. Callers read the facts (`bot.domain.eligibility`),
then ask these functions, at request time and again right before issuing. Each check answers
``None`` (allowed) or the one `Refusal` that explains why not; `refusal_message` turns it into a
sentence for the person who asked
(`bot.domain.refusals`). Every datetime given or returned is timezone-aware.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.model import (
    DirectoryUser,
    PassInfo,
    RecentManagerChange,
    RoleAssignment,
    RoleAssignmentKind,
    TapPolicy,
)

# Microsoft Entra built-in roles carrying the PRIVILEGED label, by role template id (the same in
# every tenant; for built-in roles it is also the roleDefinitionId of an assignment). Source:
# Microsoft Learn, "Microsoft Entra built-in roles" (MicrosoftDocs/entra-docs,
# docs/identity/role-based-access-control/permissions-reference.md, "All roles" table, revision
# dated 2026-01-20), and "Privileged roles and permissions in Microsoft Entra ID".
# Exchange Administrator and SharePoint Administrator are not labelled PRIVILEGED by Microsoft but
# are on CISA's SCuBA "highly privileged roles" list (ScubaGear baselines/aad.md); a pass for them
# hands over every mailbox or site, so the safe default includes them too.
PRIVILEGED_ROLES: Mapping[str, str] = {
    "db506228-d27e-4b7d-95e5-295956d6615f": "Agent ID Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "cf1c38e5-3621-4004-a7cb-879624dced7c": "Application Developer",
    "ecb2c6bf-0ab6-418e-bd87-7986f8d63bbe": "Attribute Provisioning Administrator",
    "422218e4-db15-4ef9-bbe0-8afb41546d79": "Attribute Provisioning Reader",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "25a516ed-2fa0-40ea-a2d0-12923a21473a": "Authentication Extensibility Administrator",
    "aaf43236-0c0d-4d5f-883a-6955382ac081": "B2C IEF Keyset Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "7698a772-787b-4ac8-901f-60d6b08affd2": "Cloud Device Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "9360feb5-f418-4baa-8175-e2a00bac4301": "Directory Writers",
    "8329153b-31d0-4727-b945-745eb3bc5f31": "Domain Name Administrator",
    "be2f45a1-457d-42af-a067-6ec1fa63bc45": "External Identity Provider Administrator",
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "59d46f88-662b-457b-bceb-5c3809e5908f": "Lifecycle Workflows Administrator",
    "4ba39ca4-527c-499a-b93d-d9b492c50246": "Partner Tier1 Support",
    "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8": "Partner Tier2 Support",
    "966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f": "Security Operator",
    "5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    # CISA SCuBA additions (see above)
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
}
PRIVILEGED_ROLE_IDS: frozenset[str] = frozenset(PRIVILEGED_ROLES)

# Graph's own bounds on lifetimeInMinutes: "between 10 and 43200 inclusive (equivalent to 30
# days)" (temporaryAccessPassAuthenticationMethod resource page).
GRAPH_MIN_LIFETIME_MINUTES = 10
GRAPH_MAX_LIFETIME_MINUTES = 43200

# Lengths people pick from on the card; the tenant policy and the organisation's limit clip them.
FRIENDLY_LIFETIMES: tuple[int, ...] = (
    10, 15, 30, 60, 120, 240, 480, 720, 1440, 2880, 4320, 10080, 20160, 43200,
)  # fmt: skip

# A start time this far in the past is "now": the card was filled in a minute ago, and clocks
# between Teams, the bot and Graph disagree by seconds.
START_SKEW = timedelta(minutes=5)
# The windows the rate limits count requests in.
REQUESTER_WINDOW = timedelta(hours=1)
TARGET_WINDOW = timedelta(days=1)
DEFAULT_MAX_JUSTIFICATION_LENGTH = 500
# How far up the management chain indirect reports are looked for; a loop or a very deep chain
# stops here.
MAX_MANAGER_CHAIN = 10


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The organisation's own limits, stricter than or equal to the tenant TAP policy.

    The composition root builds it from Settings; the defaults match Settings' defaults.
    *max_start_days_ahead* is ours: Graph documents no upper bound on ``startDateTime``, but a
    pass waiting weeks to start is a pass at risk of leaking before it is needed.
    *trusted_provisioning_ids* are the app ids and service principal ids (HR inbound
    provisioning) whose first manager assignment for a joiner is not a change.
    """

    allow_indirect_reports: bool = False
    allow_guests: bool = False
    privileged_role_ids: frozenset[str] = PRIVILEGED_ROLE_IDS
    blocked_group_ids: tuple[str, ...] = ()
    max_lifetime_minutes: int = 480
    require_one_time: bool = False
    requests_per_requester_per_hour: int = 10
    requests_per_target_per_day: int = 3
    manager_change_window_days: int = 14
    trusted_provisioning_ids: frozenset[str] = frozenset()
    max_start_days_ahead: int = 30
    require_justification: bool = True
    max_justification_length: int = DEFAULT_MAX_JUSTIFICATION_LENGTH

    def __post_init__(self) -> None:
        # Ids from settings and from Graph may differ in case; stored lower-cased, compared so.
        ids = frozenset(role_id.lower() for role_id in self.privileged_role_ids)
        object.__setattr__(self, "privileged_role_ids", ids)
        groups = tuple(group_id.lower() for group_id in self.blocked_group_ids)
        object.__setattr__(self, "blocked_group_ids", groups)
        problems = []
        if (
            not GRAPH_MIN_LIFETIME_MINUTES
            <= self.max_lifetime_minutes
            <= (GRAPH_MAX_LIFETIME_MINUTES)
        ):
            problems.append("max_lifetime_minutes must be within 10..43200")
        if self.requests_per_requester_per_hour < 1 or self.requests_per_target_per_day < 1:
            problems.append("rate limits must be at least 1")
        if self.manager_change_window_days < 0 or self.max_start_days_ahead < 0:
            problems.append("day counts must not be negative")
        if self.max_justification_length < 1:
            problems.append("max_justification_length must be at least 1")
        if problems:
            raise ValueError("; ".join(problems))


class Refusal(enum.StrEnum):
    """Why tapbot will not issue a pass. The value is the code written to the audit trail."""

    # Who may ask for whom
    TARGET_NOT_FOUND = "target_not_found"
    SELF = "self"
    NO_MANAGER = "no_manager"
    NOT_DIRECT_REPORT = "not_direct_report"
    NOT_SPONSOR = "not_sponsor"
    # Who may never get a pass from the bot
    DISABLED = "disabled"
    GUEST = "guest"
    PRIVILEGED_ROLE = "privileged_role"
    PRIVILEGED_ROLE_ELIGIBLE = "privileged_role_eligible"
    # The directory could not say whether the person is or can become an administrator.
    ROLE_CHECK_FAILED = "role_check_failed"
    BLOCKED_GROUP = "blocked_group"
    NOT_IN_POLICY_SCOPE = "not_in_policy_scope"
    # The pass itself
    TAP_POLICY_DISABLED = "tap_policy_disabled"
    NO_ALLOWED_LIFETIME = "no_allowed_lifetime"
    LIFETIME_OUT_OF_RANGE = "lifetime_out_of_range"
    ONE_TIME_REQUIRED = "one_time_required"
    START_IN_PAST = "start_in_past"
    START_TOO_FAR = "start_too_far"
    # A day-one pass whose joiner's hire date moved while it waited for approval
    HIRE_DATE_CHANGED = "hire_date_changed"
    # How often
    RATE_LIMIT_REQUESTER = "rate_limit_requester"
    RATE_LIMIT_TARGET = "rate_limit_target"
    # Not a refusal of the person, a change of route: the request needs the helpdesk's approval
    NEEDS_HELPDESK_APPROVAL = "needs_helpdesk_approval"
    # The request needs a helpdesk stage, and no helpdesk group is configured to decide it
    NO_HELPDESK = "no_helpdesk"
    # The approval stages need the person's manager, and the person has none
    NO_APPROVER = "no_approver"
    # Acting on a request
    NOT_YOUR_REQUEST = "not_your_request"
    ISSUE_IN_PROGRESS = "issue_in_progress"
    NOT_HELPDESK = "not_helpdesk"
    REQUEST_NOT_PENDING = "request_not_pending"
    # Deciding an approval
    APPROVAL_NOT_PENDING = "approval_not_pending"
    APPROVAL_STALE = "approval_stale"
    SELF_APPROVAL = "self_approval"
    TARGET_APPROVAL = "target_approval"
    APPROVER_ALREADY_DECIDED = "approver_already_decided"
    NOT_AN_APPROVER = "not_an_approver"
    # The person's manager, but only since a change tapbot does not trust
    APPROVER_NEW_MANAGER = "approver_new_manager"
    DENIAL_REASON_MISSING = "denial_reason_missing"
    # The card's input
    INVALID_INPUT = "invalid_input"
    JUSTIFICATION_MISSING = "justification_missing"
    JUSTIFICATION_TOO_LONG = "justification_too_long"


@dataclass(frozen=True, slots=True)
class TargetFacts:
    """What the directory says about the person a pass is asked for, read at one moment.

    *user* is None when the directory has no such user (then every other field is empty).
    *manager_chain* holds the manager's id first, then theirs, upwards; it is read beyond the
    first entry only when indirect reports are allowed. *sponsor_ids* is read only when guests
    are allowed. *in_policy_scope* is None when it could not be told (Graph then decides at
    creation). *policy* is the tenant TAP policy read alongside, when it was.
    *role_check_failure* is set when the roles could not be read (then *role_assignments* is
    empty and means nothing): the kind of failure, HTTP status and Graph code, never a message.
    *role_check_retry_after* is set when that failure was Graph throttling the read: the
    seconds it asked to wait, for a caller that can come back later (the joiner sweep).
    *recent_manager_change* is the newest manager change within the window that tapbot does
    not trust (`bot.domain.manager_check.ManagerCheck`), None when there is none or the window
    is zero; it says when, from whom and by whom, for the helpdesk's approval card.
    """

    user: DirectoryUser | None
    manager_id: str | None = None
    manager_chain: tuple[str, ...] = ()
    role_assignments: tuple[RoleAssignment, ...] = ()
    blocked_groups: frozenset[str] = frozenset()
    in_policy_scope: bool | None = None
    recent_manager_change: RecentManagerChange | None = None
    passes: tuple[PassInfo, ...] = ()
    sponsor_ids: frozenset[str] = frozenset()
    policy: TapPolicy | None = field(default=None, compare=False)
    role_check_failure: str | None = None
    role_check_retry_after: float | None = None

    @property
    def display_name(self) -> str | None:
        return self.user.display_name if self.user else None


def privileged_assignment(
    facts: TargetFacts, config: PolicyConfig, kind: RoleAssignmentKind
) -> RoleAssignment | None:
    """Return the first of the target's role assignments of *kind* that is privileged.

    Any scope counts: an administrator of one administrative unit can still reset the
    credentials of the people in it, so a pass for them is helpdesk business too. Role ids are
    compared without regard to case (Graph does not promise one).
    """
    privileged = {role.lower() for role in config.privileged_role_ids}
    for assignment in facts.role_assignments:
        if assignment.kind is kind and assignment.role_definition_id.lower() in privileged:
            return assignment
    return None


def check_target(
    requester_id: str,
    facts: TargetFacts,
    config: PolicyConfig,
    *,
    via_helpdesk: bool = False,
) -> Refusal | None:
    """Tell whether *requester_id* may ask for a pass for the target described by *facts*.

    Checks run in this order and the first that fails is the answer:

    1. the target exists (TARGET_NOT_FOUND);
    2. it is not the requester (SELF);
    3. on the manager path (*via_helpdesk* False) the requester may act for the target: for a
       guest, guests must be allowed (GUEST) and the requester must be a sponsor (NOT_SPONSOR);
       for a member, the target must have a manager (NO_MANAGER) who is the requester, or is
       below the requester when indirect reports are allowed (NOT_DIRECT_REPORT);
    4. the account is enabled (DISABLED);
    5. guests only when allowed (GUEST; reached on the helpdesk path);
    6. the roles could be read (ROLE_CHECK_FAILED: fail closed, since an administrator whose
       roles are unknown is still an administrator);
    7. no active privileged role (PRIVILEGED_ROLE), then none the target can come to hold
       (PRIVILEGED_ROLE_ELIGIBLE), directly or through a group;
    8. no blocked group (BLOCKED_GROUP);
    9. inside the tenant TAP policy's targets (NOT_IN_POLICY_SCOPE; unknown passes).

    The relationship comes before the target's own state so a manager never learns anything
    about someone who is not theirs (whether they are disabled, an administrator, protected,
    or whether their roles could be read); active roles come before eligible ones because they
    are the more specific reason.
    """
    user = facts.user
    if user is None:
        return Refusal.TARGET_NOT_FOUND
    if user.id == requester_id:
        return Refusal.SELF
    if not via_helpdesk:
        refusal = _relationship(requester_id, user, facts, config)
        if refusal is not None:
            return refusal
    if not user.account_enabled:
        return Refusal.DISABLED
    if user.is_guest and not config.allow_guests:
        return Refusal.GUEST
    if facts.role_check_failure is not None:
        return Refusal.ROLE_CHECK_FAILED
    if privileged_assignment(facts, config, RoleAssignmentKind.ACTIVE) is not None:
        return Refusal.PRIVILEGED_ROLE
    if privileged_assignment(facts, config, RoleAssignmentKind.ELIGIBLE) is not None:
        return Refusal.PRIVILEGED_ROLE_ELIGIBLE
    if {group_id.lower() for group_id in facts.blocked_groups} & set(config.blocked_group_ids):
        return Refusal.BLOCKED_GROUP
    if facts.in_policy_scope is False:
        return Refusal.NOT_IN_POLICY_SCOPE
    return None


def _relationship(
    requester_id: str, user: DirectoryUser, facts: TargetFacts, config: PolicyConfig
) -> Refusal | None:
    if user.is_guest:
        # PRODUCT.md: guests only when enabled, and then only by their sponsor or the helpdesk.
        if not config.allow_guests:
            return Refusal.GUEST
        return None if requester_id in facts.sponsor_ids else Refusal.NOT_SPONSOR
    if facts.manager_id is None:
        return Refusal.NO_MANAGER
    if facts.manager_id == requester_id:
        return None
    if config.allow_indirect_reports and requester_id in facts.manager_chain:
        return None
    return Refusal.NOT_DIRECT_REPORT


def needs_helpdesk_approval(
    facts: TargetFacts, config: PolicyConfig, now: datetime
) -> RecentManagerChange | None:
    """Return the recent manager change that sends a manager's request to the helpdesk, or None.

    Whoever controls the manager attribute might be the one asking, so a change tapbot does not
    trust (audit log, tapbot's own record, a person never seen, an unreadable audit event; see
    `bot.domain.manager_changes`) within the window means the helpdesk must approve. The value
    says when the manager changed, from whom and by whom (when known), for the approval card.
    A zero window switches the rule off. *now* must be aware (the window was applied when the
    facts were read at that moment).
    """
    _aware(now, "now")
    if config.manager_change_window_days <= 0:
        return None
    return facts.recent_manager_change


def lifetime_bounds(policy: TapPolicy, config: PolicyConfig) -> tuple[int, int] | None:
    """Return the (shortest, longest) lifetime in minutes both the tenant policy and the
    organisation allow, or None when no lifetime satisfies both."""
    low = max(policy.minimum_lifetime_minutes, GRAPH_MIN_LIFETIME_MINUTES)
    high = min(
        policy.maximum_lifetime_minutes, config.max_lifetime_minutes, GRAPH_MAX_LIFETIME_MINUTES
    )
    return (low, high) if low <= high else None


def allowed_lifetimes(policy: TapPolicy, config: PolicyConfig) -> list[int]:
    """Return the lifetimes, in minutes and ascending, to offer on the request card.

    The friendly lengths inside `lifetime_bounds`, plus the policy's default when it is inside,
    plus the longest allowed lifetime (so the list is never empty while any lifetime is
    allowed). Empty when `lifetime_bounds` is None.
    """
    bounds = lifetime_bounds(policy, config)
    if bounds is None:
        return []
    low, high = bounds
    choices = {minutes for minutes in FRIENDLY_LIFETIMES if low <= minutes <= high}
    choices.add(high)
    if low <= policy.default_lifetime_minutes <= high:
        choices.add(policy.default_lifetime_minutes)
    return sorted(choices)


def default_lifetime(policy: TapPolicy, config: PolicyConfig) -> int:
    """Return the lifetime the card preselects: always one of `allowed_lifetimes`.

    The policy's default when allowed, else the allowed choice nearest to it (the shorter on a
    tie). Raise ValueError when no lifetime is allowed (`check_policy` says so first).
    """
    choices = allowed_lifetimes(policy, config)
    if not choices:
        raise ValueError("no lifetime satisfies both the tenant policy and the organisation")
    wanted = policy.default_lifetime_minutes
    return min(choices, key=lambda minutes: (abs(minutes - wanted), minutes))


def one_time_forced(policy: TapPolicy, config: PolicyConfig) -> bool:
    """True when every pass must be one-time: the tenant policy or the organisation says so."""
    return policy.is_usable_once or config.require_one_time


def check_policy(policy: TapPolicy, config: PolicyConfig) -> Refusal | None:
    """Tell whether any pass can be issued at all under *policy* and *config*."""
    if not policy.enabled:
        return Refusal.TAP_POLICY_DISABLED
    if lifetime_bounds(policy, config) is None:
        return Refusal.NO_ALLOWED_LIFETIME
    return None


def check_pass_parameters(
    *,
    lifetime_minutes: int,
    is_usable_once: bool,
    start_at: datetime | None,
    policy: TapPolicy,
    config: PolicyConfig,
    now: datetime,
) -> Refusal | None:
    """Tell whether a pass with these parameters may be issued at *now*.

    Any whole number of minutes within `lifetime_bounds` is accepted, not only the card's
    choices. *start_at* None means "now". A start up to `START_SKEW` in the past is accepted
    (the card took a moment to fill in) and so is one exactly *max_start_days_ahead* days ahead.
    A timezone-naive *start_at* is untrusted input gone wrong: INVALID_INPUT.
    """
    _aware(now, "now")
    refusal = check_policy(policy, config)
    if refusal is not None:
        return refusal
    bounds = lifetime_bounds(policy, config)
    assert bounds is not None  # check_policy refused otherwise
    low, high = bounds
    if isinstance(lifetime_minutes, bool) or not isinstance(lifetime_minutes, int):
        return Refusal.INVALID_INPUT
    if not low <= lifetime_minutes <= high:
        return Refusal.LIFETIME_OUT_OF_RANGE
    if one_time_forced(policy, config) and not is_usable_once:
        return Refusal.ONE_TIME_REQUIRED
    if start_at is not None:
        if start_at.tzinfo is None or start_at.utcoffset() is None:
            return Refusal.INVALID_INPUT
        if start_at < now - START_SKEW:
            return Refusal.START_IN_PAST
        if start_at > now + timedelta(days=config.max_start_days_ahead):
            return Refusal.START_TOO_FAR
    return None


def check_rate_limits(
    *, by_requester_last_hour: int, for_target_last_day: int, config: PolicyConfig
) -> Refusal | None:
    """Tell whether one more request is allowed.

    The counts are of requests already recorded in the windows (`REQUESTER_WINDOW`,
    `TARGET_WINDOW`), not counting the one being checked; a limit of N allows N requests.
    The requester's limit is checked first.
    """
    if by_requester_last_hour >= config.requests_per_requester_per_hour:
        return Refusal.RATE_LIMIT_REQUESTER
    if for_target_last_day >= config.requests_per_target_per_day:
        return Refusal.RATE_LIMIT_TARGET
    return None


def check_justification(text: str | None, config: PolicyConfig) -> Refusal | None:
    """Tell whether a justification is acceptable (surrounding spaces do not count)."""
    stripped = (text or "").strip()
    if not stripped:
        return Refusal.JUSTIFICATION_MISSING if config.require_justification else None
    if len(stripped) > config.max_justification_length:
        return Refusal.JUSTIFICATION_TOO_LONG
    return None


def pass_is_live(info: PassInfo, now: datetime) -> bool:
    """True while a pass can still be used or will become usable: not expired, not used up.

    A pass that has not started yet (a joiner's day-one pass) is live; so is one the policy
    currently disables, since it works again when the policy changes.
    """
    _aware(now, "now")
    if info.usability_reason in ("Expired", "OneTimeUsed"):
        return False
    return info.ends_at > now


def existing_pass_needs_confirmation(passes: Sequence[PassInfo], now: datetime) -> PassInfo | None:
    """Return the live pass a new one would replace (the one ending last), or None.

    Entra keeps one pass per user and creating another deletes it, so the requester must
    confirm before tapbot replaces a live pass; expired or used ones go without asking.
    """
    live = [info for info in passes if pass_is_live(info, now)]
    return max(live, key=lambda info: info.ends_at, default=None)


# Words for people


def _aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
