"""The bot's own GraphClient, authenticated by msal through the HTTPS token endpoint, against the
fake tenant: the whole path the running bot takes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.domain.errors import DirectoryRejected
from bot.domain.model import MailMessage, RoleAssignmentKind
from bot.graph.client import GraphClient
from bot.identity import MsalClientCredentialsAuth
from sandbox import org
from sandbox.server import FakeTenant
from sandbox.tenant import GLOBAL_ADMINISTRATOR


@pytest.fixture
async def client(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GraphClient]:
    # See test_identity.py: these variables would override the sandbox CA inside requests.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    auth = MsalClientCredentialsAuth(
        client_id=fake.client_id,
        authority=fake.authority,
        client_secret=fake.client_secret,
        verify=str(fake.ca_cert_path),
    )
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient(timeout=5) as http:
        yield GraphClient(http, base_url=fake.graph_url, auth=auth, sleep=no_sleep)
    auth.close()


async def test_directory_reads(client: GraphClient) -> None:
    manager = await client.get_user(org.MANAGER_UPN)
    assert manager.id == org.MANAGER_ID
    assert manager.account_enabled
    reports = await client.list_direct_reports(org.MANAGER_ID)
    assert {r.id for r in reports} >= {*org.ELIGIBLE_REPORT_IDS, org.PIM_ELIGIBLE_ADMIN_ID}
    assert await client.get_manager(org.CEO_ID) is None
    assert (await client.get_manager(org.LIAM_ID)).id == org.MANAGER_ID  # type: ignore[union-attr]
    disabled = await client.get_user(org.DISABLED_ID)
    assert disabled.account_enabled is False
    guest = await client.get_user(org.GUEST_ID)
    assert guest.user_type == "Guest"
    assert [s.id for s in await client.list_sponsors(org.GUEST_ID)] == [org.MANAGER_ID]
    found = await client.search_users("Pri")
    assert [u.id for u in found] == [org.HELPDESK_MEMBER_IDS[0]]


async def test_joiners_groups_roles_and_audit(client: GraphClient) -> None:
    now = datetime.now(UTC)
    joiners = [j async for j in client.iter_joiners(now, now + timedelta(days=11))]
    assert {j.user.id for j in joiners} == set(org.JOINER_IDS)
    groups = await client.check_member_groups(
        org.BREAK_GLASS_ID, [org.BLOCKED_GROUP_ID, org.HELPDESK_GROUP_ID]
    )
    assert groups == {org.BLOCKED_GROUP_ID}
    active = await client.list_active_role_assignments(org.GLOBAL_ADMIN_ID)
    assert [(r.role_definition_id, r.kind) for r in active] == [
        (GLOBAL_ADMINISTRATOR, RoleAssignmentKind.ACTIVE)
    ]
    eligible = await client.list_eligible_role_assignments(org.PIM_ELIGIBLE_ADMIN_ID)
    assert [r.role_definition_id for r in eligible] == [org.PRIVILEGED_AUTH_ADMIN]
    changes = await client.list_manager_changes(
        org.RECENT_MANAGER_CHANGE_ID, now - timedelta(days=14)
    )
    assert [(c.old_manager_id, c.new_manager_id) for c in changes] == [
        (org.SECOND_MANAGER_ID, org.MANAGER_ID)
    ]


async def test_passes_mail_and_apps(fake: FakeTenant, client: GraphClient) -> None:
    policy = await client.get_tap_policy()
    assert (policy.minimum_lifetime_minutes, policy.maximum_lifetime_minutes) == (60, 480)
    issued = await client.create_pass(
        org.LIAM_ID, lifetime_minutes=90, is_usable_once=True, start_at=None
    )
    assert len(issued.secret.reveal()) == 8
    [listed] = await client.list_passes(org.LIAM_ID)
    assert listed.id == issued.info.id
    assert listed.lifetime_minutes == 90
    with pytest.raises(DirectoryRejected) as rejected:
        await client.create_pass(
            org.LIAM_ID, lifetime_minutes=600, is_usable_once=True, start_at=None
        )
    assert rejected.value.code == "badRequest"
    await client.delete_pass(org.LIAM_ID, issued.info.id)
    assert await client.list_passes(org.LIAM_ID) == []

    await client.send_mail(
        MailMessage(org.MAILBOX_UPN, ("liam.carter.home@example.net",), "Hello", "<p>Hi</p>")
    )
    assert fake.tenant.outbox[-1].subject == "Hello"
    assert await client.find_app_installation(org.LIAM_ID, org.TEAMS_APP_ID) is None
    await client.install_app(org.LIAM_ID, org.TEAMS_APP_ID)
    await client.install_app(org.LIAM_ID, org.TEAMS_APP_ID)  # 409 counts as done
    assert await client.find_app_installation(org.LIAM_ID, org.TEAMS_APP_ID) is not None


async def test_client_retries_through_injected_throttling(
    fake: FakeTenant, client: GraphClient
) -> None:
    from sandbox.faults import Fault

    fake.faults.add(Fault("get_user", "throttle", count=2, retry_after="0.1"))
    assert (await client.get_user(org.LIAM_ID)).id == org.LIAM_ID
    assert fake.faults.faults == []
