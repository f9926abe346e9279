"""The tenant model without HTTP: seed data, pass rules over time, redaction, OData filters,
and ``python -m sandbox``'s ready line and clean exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox import org
from sandbox.odata import ODataError, parse_filter
from sandbox.tenant import REDACTED, GraphError
from sandbox.views import org_summary, outbox_summaries, pass_summaries

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_seed_has_the_documented_people() -> None:
    tenant = org.seed(NOW)
    reports = {u.id for u in tenant.direct_reports(org.MANAGER_ID)}
    assert len(reports) >= 4
    assert reports >= {*org.ELIGIBLE_REPORT_IDS, org.PIM_ELIGIBLE_ADMIN_ID, *org.JOINER_IDS}
    assert len(tenant.direct_reports(org.SECOND_MANAGER_ID)) >= 3
    hires = [tenant.users[j].employee_hire_date for j in org.JOINER_IDS]
    assert [(h - NOW).days for h in hires if h] == [2, 5, 9]  # 09:00 on day +3, +6, +10
    assert [h.date() for h in hires if h] == [
        (NOW + timedelta(days=d)).date() for d in org.JOINER_DAYS
    ]
    assert tenant.users[org.DISABLED_ID].account_enabled is False
    assert tenant.users[org.GUEST_ID].user_type == "Guest"
    assert tenant.sponsors[org.GUEST_ID] == [org.MANAGER_ID]
    assert tenant.check_member_groups(org.BREAK_GLASS_ID, [org.BLOCKED_GROUP_ID])
    assert tenant.role_grants(eligible=True)[0]["principalId"] == org.PIM_ELIGIBLE_ADMIN_ID
    assert not any(r.principal_id == org.PIM_ELIGIBLE_ADMIN_ID and not r.eligible
                   for r in tenant.roles)  # fmt: skip
    assert tenant.passes == {}
    phones = {u.mobile_phone is None for u in tenant.direct_reports(org.MANAGER_ID)}
    mails = {not u.other_mails for u in tenant.direct_reports(org.MANAGER_ID)}
    assert phones == mails == {True, False}


def test_pass_usability_follows_the_clock_and_one_time_policy() -> None:
    clock = Clock()
    tenant = org.seed(NOW, clock=clock)
    created = tenant.create_pass(org.LIAM_ID, {"lifetimeInMinutes": 60})
    assert created["isUsable"] is True
    clock.now = NOW + timedelta(minutes=61)
    [listed] = tenant.list_passes(org.LIAM_ID)
    assert (listed["isUsable"], listed["methodUsabilityReason"]) == (False, "Expired")
    assert listed["temporaryAccessPass"] is None
    tenant.policy.is_usable_once = True
    with pytest.raises(GraphError) as refused:
        tenant.create_pass(org.LIAM_ID, {"isUsableOnce": False})
    assert (refused.value.status, refused.value.code) == (400, "badRequest")
    assert tenant.create_pass(org.LIAM_ID, {})["isUsableOnce"] is True
    tenant.policy.state = "disabled"
    with pytest.raises(GraphError, match="Converged UserCredentialPolicy"):
        tenant.create_pass(org.GRACE_ID, {})


def test_redaction_hides_every_issued_value() -> None:
    tenant = org.seed(NOW)
    value = tenant.create_pass(org.LIAM_ID, {})["temporaryAccessPass"]
    tenant.record_sms("twilio", "+1", ["+2"], f"Your pass is {value}.")
    [summary] = outbox_summaries(tenant)
    assert value not in json.dumps(summary)
    assert summary["body"] == f"Your pass is {REDACTED}."
    assert summary["carriesPass"] is True
    assert value not in json.dumps(pass_summaries(tenant))
    assert value not in json.dumps(org_summary(tenant))


def test_odata_filters() -> None:
    item = {"a": "Hello", "when": "2025-01-01T10:00:00.1234567Z", "list": [{"id": "X"}]}
    assert parse_filter("startswith(a,'he') and when ge 2025-01-01T00:00:00Z")(item)
    assert not parse_filter("not (a eq 'hello')")(item)
    assert parse_filter("a in ('x','HELLO') or a eq 'y'")(item)
    assert parse_filter("list/any(t:t/id eq 'x')")(item)
    assert parse_filter("a eq 'it''s'")({"a": "it's"})
    for bad in ("a eq", "a foo 'b'", "startswith(a)", "(a eq 'b'"):
        with pytest.raises(ODataError):
            parse_filter(bad)


def test_module_prints_its_ready_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "sandbox", "--state-dir", str(tmp_path / "state")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert set(ready) >= {
            "graph_url", "base_url", "authority", "tenant_id", "client_id", "client_secret",
            "ca_cert_path", "cert_path", "cert_thumbprint", "msi_endpoint", "msi_header",
            "home_url", "outbox_url",
        }  # fmt: skip
        assert ready["authority"].startswith("https://127.0.0.1:")
        assert Path(ready["ca_cert_path"]).is_file()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
