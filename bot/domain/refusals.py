"""Refusals in words: a sentence for the person who asked, saying why and what to do next.

Messages never name groups, ids or internal codes; names from the directory are passed through
as text (the card layer escapes them).
"""

from __future__ import annotations

from bot.domain.model import RoleAssignmentKind, RoleSource, TapPolicy
from bot.domain.policy import (
    PRIVILEGED_ROLES,
    PolicyConfig,
    Refusal,
    TargetFacts,
    lifetime_bounds,
    privileged_assignment,
)


def describe_minutes(minutes: int) -> str:
    """Say a lifetime the way people do: "45 minutes", "1 hour", "1.5 hours", "3 days"."""
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" if days == 1 else f"{days} days"
    if minutes >= 60 and minutes % 30 == 0:
        hours = minutes / 60
        if hours == 1:
            return "1 hour"
        return f"{hours:g} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def role_name(role_id: str) -> str | None:
    """The name of a built-in privileged role, or None for one this module does not know."""
    return PRIVILEGED_ROLES.get(role_id.lower())


def message(refusal: Refusal, **facts: object) -> str:
    """Return a plain-English sentence for *refusal*, saying what to do next.

    Optional facts, used when given: ``name`` (the target's display name), ``role`` (a role's
    name), ``through_group`` (True when the role comes through a group), ``minimum`` and
    ``maximum`` (minutes), ``limit`` (a count), ``days``. Without them the sentence stays
    general. It never names groups, ids or internal errors.
    """
    name = _text(facts.get("name")) or "This person"
    role = _text(facts.get("role"))
    through_group = facts.get("through_group") is True
    helpdesk = "Ask the helpdesk if they still need one."
    match refusal:
        case Refusal.TARGET_NOT_FOUND:
            return (
                "I couldn't find that person in the directory. Pick them again from the list, "
                "or ask the helpdesk if they are new."
            )
        case Refusal.SELF:
            return (
                "You can't request a pass for yourself. Ask your manager or the helpdesk for one."
            )
        case Refusal.NO_MANAGER:
            return (
                f"{name} has no manager in the directory, so only the helpdesk can request a "
                "pass for them."
            )
        case Refusal.NOT_DIRECT_REPORT:
            return (
                f"{name} doesn't report to you in the directory, so you can't request a pass "
                "for them. Ask their manager or the helpdesk."
            )
        case Refusal.NOT_SPONSOR:
            return (
                f"{name} is a guest and you are not one of their sponsors, so you can't request "
                "a pass for them. Ask their sponsor or the helpdesk."
            )
        case Refusal.DISABLED:
            return (
                f"{name}'s account is disabled, so a pass would not let them sign in. Ask the "
                "helpdesk to check the account first."
            )
        case Refusal.GUEST:
            return (
                f"{name} is a guest, and this bot doesn't issue passes to guests. Ask their "
                "sponsor to contact the helpdesk."
            )
        case Refusal.PRIVILEGED_ROLE:
            held = f"an administrator role ({role})" if role else "an administrator role"
            if through_group:
                held += " through a group"
            return (
                f"{name} holds {held}, a privileged role, so a pass must come from the "
                "helpdesk, not this bot."
            )
        case Refusal.PRIVILEGED_ROLE_ELIGIBLE:
            held = f"a privileged role, {role}" if role else "a privileged role"
            if through_group:
                return (
                    f"{name} can become an administrator ({held}) through a group they belong "
                    "to, own or may join, so a pass must come from the helpdesk, not this bot."
                )
            return (
                f"{name} can be made an administrator ({held}) through Privileged Identity "
                "Management, so a pass must come from the helpdesk, not this bot."
            )
        case Refusal.ROLE_CHECK_FAILED:
            who = _text(facts.get("name")) or "this person"
            return (
                f"I couldn't check whether {who} is or can become an administrator, so I "
                "can't issue a pass for them. Try again in a few minutes, or ask the helpdesk."
            )
        case Refusal.BLOCKED_GROUP:
            return (
                f"{name}'s account is protected by your organisation (for example an emergency "
                f"or administrator account), so this bot can't issue it a pass. {helpdesk}"
            )
        case Refusal.NOT_IN_POLICY_SCOPE:
            return (
                f"Your organisation's Temporary Access Pass policy doesn't cover {name}, so a "
                f"pass would not work for them. {helpdesk}"
            )
        case Refusal.TAP_POLICY_DISABLED:
            return (
                "Temporary Access Passes are switched off for your organisation, so none can be "
                "issued. Ask your IT administrators to turn them on."
            )
        case Refusal.NO_ALLOWED_LIFETIME:
            return (
                "Your organisation's pass settings leave no pass length that can be used, so "
                "none can be issued. Ask your IT administrators to check the tapbot and "
                "Temporary Access Pass settings."
            )
        case Refusal.LIFETIME_OUT_OF_RANGE:
            low, high = facts.get("minimum"), facts.get("maximum")
            if isinstance(low, int) and isinstance(high, int):
                span = f"between {describe_minutes(low)} and {describe_minutes(high)}"
                return f"A pass must last {span}. Pick one of the lengths offered and try again."
            return "That pass length isn't allowed. Pick one of the lengths offered and try again."
        case Refusal.ONE_TIME_REQUIRED:
            return (
                "Your organisation only allows one-time passes. Choose one-time use and try again."
            )
        case Refusal.START_IN_PAST:
            return "The start time has already passed. Choose now or a later time and try again."
        case Refusal.HIRE_DATE_CHANGED:
            return (
                f"{name}'s start date in the directory changed while this request waited, so "
                "its pass would not start on their first day. No pass was issued: answer the "
                "reminder for the new date, or request a pass."
            )
        case Refusal.START_TOO_FAR:
            days = facts.get("days")
            if isinstance(days, int):
                return (
                    f"A pass can start at most {days} days ahead. Choose an earlier start; you "
                    "can request another pass closer to the day."
                )
            return "That start time is too far ahead. Choose an earlier start and try again."
        case Refusal.RATE_LIMIT_REQUESTER:
            limit = facts.get("limit")
            made = f"{limit} requests" if isinstance(limit, int) else "as many requests as allowed"
            return (
                f"You've made {made} in the last hour. Please wait a while before asking again, "
                "or ask the helpdesk if it is urgent."
            )
        case Refusal.RATE_LIMIT_TARGET:
            limit = facts.get("limit")
            had = f"{limit} pass requests" if isinstance(limit, int) else "as many requests"
            return (
                f"{name} has already had {had} in the last day. If they still can't sign in, "
                "ask the helpdesk to help them directly."
            )
        case Refusal.NEEDS_HELPDESK_APPROVAL:
            return (
                f"{name}'s manager was changed in the directory recently, so a pass for them "
                "needs the helpdesk's approval first. Ask the helpdesk to request it."
            )
        case Refusal.NO_HELPDESK:
            # Reached by a manager change, a helpdesk stage in the configured approvals, or
            # anything else that adds one: say only what holds for all of them.
            whom = _text(facts.get("name")) or "this person"
            return (
                f"A pass for {whom} needs a helpdesk member's approval, but no helpdesk is set "
                "up in tapbot, so nobody could approve it. Ask your IT team to set up tapbot's "
                "helpdesk, or to help them another way."
            )
        case Refusal.NO_APPROVER:
            return (
                f"{name} has no manager in the directory, and your organisation's approvals "
                "need their manager's decision, so no one could approve this request. Ask IT "
                "to set their manager first."
            )
        case Refusal.NOT_YOUR_REQUEST:
            return (
                "That request isn't yours, or it no longer exists, so you can't change it. "
                'Type "request" to start a new one.'
            )
        case Refusal.ISSUE_IN_PROGRESS:
            return (
                f"A pass for {name} is being issued right now from another request, so this "
                "one was stopped to avoid replacing it. Check your chat in a moment."
            )
        case Refusal.INVALID_INPUT:
            return "Part of the request wasn't valid. Open a new request card and try again."
        case Refusal.JUSTIFICATION_MISSING:
            return "Please say why the pass is needed, then submit again."
        case Refusal.JUSTIFICATION_TOO_LONG:
            limit = facts.get("limit")
            most = f"{limit} characters" if isinstance(limit, int) else "a few sentences"
            return f"The reason is too long. Keep it to {most} and submit again."
        case Refusal.NOT_HELPDESK:
            return (
                "Only helpdesk members can request a pass for someone who doesn't report to "
                "them. Ask the person's manager or the helpdesk."
            )
        case Refusal.REQUEST_NOT_PENDING:
            return "That request has already ended, so there is nothing to cancel."
        case Refusal.APPROVAL_NOT_PENDING:
            return (
                "This request isn't waiting for a decision any more (it was decided, expired "
                "or cancelled), so nothing changed."
            )
        case Refusal.APPROVAL_STALE:
            return (
                "This approval card is out of date: the request has moved to another step. "
                "Nothing changed."
            )
        case Refusal.SELF_APPROVAL:
            return (
                "You can't approve or deny your own request: another person has to decide it. "
                "Nothing changed."
            )
        case Refusal.TARGET_APPROVAL:
            return "You can't decide a request for a pass for yourself. Nothing changed."
        case Refusal.APPROVER_ALREADY_DECIDED:
            return (
                "You already decided an earlier step of this request; a different person must "
                "decide this one. Nothing changed."
            )
        case Refusal.NOT_AN_APPROVER:
            return (
                "You aren't one of the people who can decide this step, so nothing changed. "
                "The card shows who can."
            )
        case Refusal.APPROVER_NEW_MANAGER:
            return (
                "You became this person's manager in the directory only recently, so your "
                "decision can't count for this step. Nothing changed; the helpdesk can help if "
                "the pass is needed."
            )
        case Refusal.DENIAL_REASON_MISSING:
            return "Please say why you deny the request, then click Deny again."


def refusal_message(
    refusal: Refusal,
    facts: TargetFacts | None = None,
    config: PolicyConfig | None = None,
    *,
    policy: TapPolicy | None = None,
) -> str:
    """`message` for *refusal*, filled in from what the caller has.

    *facts* gives the target's name and, for the privileged-role refusals, the role's name;
    *config* gives the organisation's limits; *policy* (else ``facts.policy``) the tenant's
    lifetime range. Whatever is missing leaves the sentence general, never wrong.
    """
    effective = config or PolicyConfig()
    role: str | None = None
    through_group = False
    if facts is not None and refusal in (
        Refusal.PRIVILEGED_ROLE,
        Refusal.PRIVILEGED_ROLE_ELIGIBLE,
    ):
        kind = (
            RoleAssignmentKind.ACTIVE
            if refusal is Refusal.PRIVILEGED_ROLE
            else RoleAssignmentKind.ELIGIBLE
        )
        held = privileged_assignment(facts, effective, kind)
        role = role_name(held.role_definition_id) if held else None
        through_group = held is not None and held.via is not RoleSource.DIRECT
    tap_policy = policy if policy is not None else (facts.policy if facts else None)
    minimum = maximum = limit = days = None
    # Without the organisation's settings its limits are unknown: the sentence stays general.
    if config is not None:
        bounds = lifetime_bounds(tap_policy, config) if tap_policy is not None else None
        minimum, maximum = bounds if bounds is not None else (None, None)
        days = config.max_start_days_ahead
        limit = {
            Refusal.RATE_LIMIT_REQUESTER: config.requests_per_requester_per_hour,
            Refusal.RATE_LIMIT_TARGET: config.requests_per_target_per_day,
            Refusal.JUSTIFICATION_TOO_LONG: config.max_justification_length,
        }.get(refusal)
    return message(
        refusal,
        name=facts.display_name if facts else None,
        role=role,
        through_group=through_group,
        minimum=minimum,
        maximum=maximum,
        limit=limit,
        days=days,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
