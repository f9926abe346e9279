"""The `PassIssuer` and `Mailer` contracts (bot/domain/ports.py), against the twin and the Graph
adapters, over the same seeded organisation (sandbox/org.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from bot.domain.errors import DirectoryObjectNotFound, DirectoryRejected
from bot.domain.model import IssuedPass, MailMessage, PassInfo, TapPolicy
from sandbox import org
from tests.integration.graph.conftest import SentMail, Side

UNKNOWN_ID = "99999999-0000-4000-8000-000000000099"
# Entra's messages (facts §1.2), which both sides must carry.
LIFETIME_RANGE = "Invalid LifetimeInMinutes specified. The valid range between 60 and 480."
GUEST_FORBIDDEN = "Temporary Access Pass cannot be added to an external guest user."
POLICY_FORBIDS = (
    "Converged UserCredentialPolicy does not allow creating or updating this authentication "
    "method. AuthMethodType [TemporaryAccessPass]."
)
ONE_TIME_ONLY = "The policy allows only one-time Temporary Access Passes."


async def create(
    side: Side,
    user_id: str,
    lifetime: int = 60,
    *,
    once: bool = False,
    start_at: datetime | None = None,
) -> IssuedPass:
    return await side.pass_issuer.create_pass(
        user_id, lifetime_minutes=lifetime, is_usable_once=once, start_at=start_at
    )


async def rejected(side: Side, user_id: str, lifetime: int = 60, *, once: bool = False) -> str:
    """Graph's message for a rejected creation (after checking its code and status)."""
    with pytest.raises(DirectoryRejected) as caught:
        await create(side, user_id, lifetime, once=once)
    assert (caught.value.code, caught.value.status) == ("badRequest", 400)
    return str(caught.value)


# Policy


async def test_get_policy_is_entras_default(side: Side) -> None:
    assert await side.pass_issuer.get_policy() == TapPolicy(
        enabled=True,
        default_lifetime_minutes=60,
        minimum_lifetime_minutes=60,
        maximum_lifetime_minutes=480,
        is_usable_once=False,
        default_length=8,
        all_users=True,
        include_group_ids=(),
        exclude_group_ids=(),
    )


async def test_get_policy_reads_targets(side: Side) -> None:
    side.change_policy(
        include_group_ids=(org.FINANCE_GROUP_ID,),
        exclude_group_ids=(org.BLOCKED_GROUP_ID,),
        is_usable_once=True,
        maximum_lifetime_minutes=120,
    )

    policy = await side.pass_issuer.get_policy()

    assert (policy.all_users, policy.include_group_ids, policy.exclude_group_ids) == (
        True,
        (org.FINANCE_GROUP_ID,),
        (org.BLOCKED_GROUP_ID,),
    )
    assert (policy.is_usable_once, policy.maximum_lifetime_minutes) == (True, 120)


# Creation


async def test_create_pass_returns_the_value_and_its_description(side: Side) -> None:
    now = side.clock.now()

    issued = await create(side, org.LIAM_ID, 90)

    assert len(issued.secret.reveal()) == 8
    assert issued.info == PassInfo(
        id=issued.info.id,
        user_id=org.LIAM_ID,
        created_at=now,
        start_at=now,
        lifetime_minutes=90,
        is_usable_once=False,
        is_usable=True,
        usability_reason="EnabledByPolicy",
    )
    assert issued.info.id
    assert issued.info.ends_at == now + timedelta(minutes=90)


async def test_list_passes_shows_the_pass_without_its_value(side: Side) -> None:
    assert await side.pass_issuer.list_passes(org.LIAM_ID) == []
    issued = await create(side, org.LIAM_ID, once=True)

    listed = await side.pass_issuer.list_passes(org.LIAM_ID)

    # PassInfo has no value field at all: the value exists only in the IssuedPass.
    assert listed == [issued.info]
    assert issued.secret.reveal() not in repr(listed)
    assert await side.pass_issuer.list_passes(org.GRACE_ID) == []


async def test_passes_by_upn_are_labelled_with_the_id_given(side: Side) -> None:
    # Graph's pass carries no user id: the adapter labels it with the argument as given.
    upn = "Liam.Carter@contoso.example"

    issued = await create(side, upn)

    assert issued.info.user_id == upn
    [listed] = await side.pass_issuer.list_passes(org.LIAM_ID)
    assert listed == dataclasses.replace(issued.info, user_id=org.LIAM_ID)
    await side.pass_issuer.delete_pass(upn, issued.info.id)
    assert await side.pass_issuer.list_passes(upn) == []


async def test_a_future_start_is_not_yet_valid(side: Side) -> None:
    start = side.clock.now() + timedelta(hours=2)

    issued = await create(side, org.GRACE_ID, 120, start_at=start)

    assert (issued.info.start_at, issued.info.is_usable) == (start, False)
    assert issued.info.usability_reason == "NotYetValid"
    assert await side.pass_issuer.list_passes(org.GRACE_ID) == [issued.info]


async def test_list_passes_follows_the_clock(side: Side) -> None:
    issued = await create(side, org.LIAM_ID, 60)

    side.clock.advance(minutes=61)
    [listed] = await side.pass_issuer.list_passes(org.LIAM_ID)

    assert listed.id == issued.info.id
    assert (listed.is_usable, listed.usability_reason) == (False, "Expired")


async def test_a_second_pass_replaces_the_first(side: Side) -> None:
    first = await create(side, org.SOPHIE_ID, 60)
    second = await create(side, org.SOPHIE_ID, 240, once=True)

    assert second.info.id != first.info.id
    assert second.secret != first.secret
    assert await side.pass_issuer.list_passes(org.SOPHIE_ID) == [second.info]


@pytest.mark.parametrize("lifetime", [59, 481, 10, 43200])
async def test_lifetime_outside_the_policy_is_rejected_with_graphs_message(
    side: Side, lifetime: int
) -> None:
    kept = await create(side, org.LIAM_ID, 60)

    assert LIFETIME_RANGE in await rejected(side, org.LIAM_ID, lifetime)
    # A rejected creation replaces nothing.
    assert await side.pass_issuer.list_passes(org.LIAM_ID) == [kept.info]


async def test_guest_is_rejected(side: Side) -> None:
    assert GUEST_FORBIDDEN in await rejected(side, org.GUEST_ID)
    assert await side.pass_issuer.list_passes(org.GUEST_ID) == []


async def test_a_disabled_user_gets_a_pass(side: Side) -> None:
    # Nothing in Entra's documentation (facts §1.2) rejects a pass for a disabled account, and
    # the fake tenant does not: refusing one is the bot's job (bot/domain/policy.py), not
    # Graph's. Both sides issue it.
    issued = await create(side, org.DISABLED_ID)

    assert issued.info.user_id == org.DISABLED_ID
    assert await side.pass_issuer.list_passes(org.DISABLED_ID) == [issued.info]


async def test_a_user_outside_the_policy_is_rejected(side: Side) -> None:
    # Break Glass is in the blocked group through the nested emergency group.
    side.change_policy(exclude_group_ids=(org.BLOCKED_GROUP_ID,))

    assert POLICY_FORBIDS in await rejected(side, org.BREAK_GLASS_ID)
    assert (await create(side, org.LIAM_ID)).info.user_id == org.LIAM_ID


async def test_a_user_not_included_is_rejected(side: Side) -> None:
    side.change_policy(all_users=False, include_group_ids=(org.HELPDESK_GROUP_ID,))

    assert POLICY_FORBIDS in await rejected(side, org.LIAM_ID)
    assert (await create(side, org.HELPDESK_MEMBER_IDS[0])).info.lifetime_minutes == 60


async def test_a_disabled_policy_rejects_everyone(side: Side) -> None:
    side.change_policy(enabled=False)

    assert POLICY_FORBIDS in await rejected(side, org.LIAM_ID)


async def test_a_one_time_policy_rejects_multi_use_passes(side: Side) -> None:
    side.change_policy(is_usable_once=True)

    assert ONE_TIME_ONLY in await rejected(side, org.LIAM_ID, once=False)
    assert (await create(side, org.LIAM_ID, once=True)).info.is_usable_once is True


async def test_unknown_user_has_no_passes(side: Side) -> None:
    with pytest.raises(DirectoryObjectNotFound):
        await create(side, UNKNOWN_ID)
    with pytest.raises(DirectoryObjectNotFound):
        await side.pass_issuer.list_passes(UNKNOWN_ID)


# Deletion


async def test_delete_pass_removes_it_and_deleting_again_is_success(side: Side) -> None:
    issued = await create(side, org.LIAM_ID)

    await side.pass_issuer.delete_pass(org.LIAM_ID, issued.info.id)
    await side.pass_issuer.delete_pass(org.LIAM_ID, issued.info.id)

    assert await side.pass_issuer.list_passes(org.LIAM_ID) == []


async def test_deleting_a_replaced_pass_keeps_the_new_one(side: Side) -> None:
    first = await create(side, org.LIAM_ID)
    second = await create(side, org.LIAM_ID)

    await side.pass_issuer.delete_pass(org.LIAM_ID, first.info.id)

    assert await side.pass_issuer.list_passes(org.LIAM_ID) == [second.info]


async def test_deleting_for_a_user_who_is_gone_is_success(side: Side) -> None:
    await side.pass_issuer.delete_pass(UNKNOWN_ID, "6f1967b7-15e8-4935-ac26-d50770ed07a7")


# Mail


async def test_send_mail_lands_with_recipients_and_subject(side: Side) -> None:
    message = MailMessage(
        sender=org.MAILBOX_UPN,
        to=("liam.carter@contoso.example", "liam.carter.home@example.net"),
        cc=("olivia.bennett@contoso.example",),
        subject="Your Temporary Access Pass",
        html_body="<p>Hello Liam</p>",
    )

    await side.mailer.send_mail(message)

    assert side.sent_mail() == [
        SentMail(
            to=("liam.carter@contoso.example", "liam.carter.home@example.net"),
            cc=("olivia.bennett@contoso.example",),
            subject="Your Temporary Access Pass",
            html_body="<p>Hello Liam</p>",
        )
    ]


async def test_send_mail_without_recipients_is_rejected(side: Side) -> None:
    message = MailMessage(sender=org.MAILBOX_UPN, to=(), subject="x", html_body="<p>x</p>")

    with pytest.raises(DirectoryRejected) as caught:
        await side.mailer.send_mail(message)

    assert (caught.value.code, caught.value.status) == ("ErrorInvalidRecipients", 400)
    assert side.sent_mail() == []


async def test_send_mail_from_an_unknown_mailbox_is_not_found(side: Side) -> None:
    message = MailMessage(
        sender="nobody@contoso.example", to=(org.MANAGER_UPN,), subject="x", html_body="x"
    )

    with pytest.raises(DirectoryObjectNotFound) as caught:
        await side.mailer.send_mail(message)

    # Exchange's code (facts §5), which the workflow writes into the audit.
    assert (caught.value.code, caught.value.status) == ("ErrorInvalidUser", 404)
    assert side.sent_mail() == []
