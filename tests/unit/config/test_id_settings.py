"""Id-valued settings: GUIDs only, lower-cased, and a role list that can only add protection
unless a loudly named setting removes some of it."""

from __future__ import annotations

import pytest

from bot.app import policy_config
from bot.config import ConfigError, Settings
from bot.domain.policy import PRIVILEGED_ROLE_IDS, PRIVILEGED_ROLES

GOOD = {
    "GRAPH_TENANT_ID": "11111111-1111-1111-1111-111111111111",
    "GRAPH_CLIENT_ID": "22222222-2222-2222-2222-222222222222",
    "GRAPH_CLIENT_SECRET": "very-secret-value",
}
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
CUSTOM_ROLE = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # a tenant's own role, not in the list
GROUP = "a1b2c3d4-0002-4a5b-8c9d-0e1f2a3b4c02"


def problems(**settings: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(GOOD | settings)
    return caught.value.problems


def test_every_id_setting_with_a_typo_is_reported_at_once_without_its_value() -> None:
    typo = "3f2b9c1d-5e4a-4b7c-9d8e-1a2b3c4d5e6"  # one digit short
    secret = "Xy8Q~not-an-id.but-a-secret_pasted-here"
    found = problems(
        MicrosoftAppId=typo,
        MicrosoftAppPassword="pw",
        MicrosoftAppType="SingleTenant",
        MicrosoftAppTenantId="contoso.onmicrosoft.com",
        GRAPH_TENANT_ID=typo,
        GRAPH_CLIENT_ID=secret,
        GRAPH_MANAGED_IDENTITY_CLIENT_ID=typo,
        TEAMS_APP_ID="tapbot",
        HELPDESK_GROUP_ID=typo,
        PRIVILEGED_ROLE_IDS=f"{CUSTOM_ROLE},{typo}",
        BLOCKED_GROUP_IDS=f"{typo}, {GROUP}, break-glass",
        UNSAFE_UNPROTECTED_ROLE_IDS="Helpdesk Administrator",
    )
    text = "\n".join(found)
    for name in (
        "MicrosoftAppId",
        "MicrosoftAppTenantId",
        "GRAPH_TENANT_ID",
        "GRAPH_CLIENT_ID",
        "GRAPH_MANAGED_IDENTITY_CLIENT_ID",
        "TEAMS_APP_ID",
        "HELPDESK_GROUP_ID",
        "PRIVILEGED_ROLE_IDS: entry 2 of 2 is not a GUID",
        "BLOCKED_GROUP_IDS: entries 1 and 3 of 3 are not GUIDs",
        "UNSAFE_UNPROTECTED_ROLE_IDS: entry 1 of 1 is not a GUID",
    ):
        assert sum(problem.startswith(name) for problem in found) == 1, name
    for value in (typo, secret, "contoso", "tapbot", "break-glass", "Helpdesk"):
        assert value not in text, value
    assert "the value given has 35 characters" in text


def test_ids_are_kept_in_lower_case() -> None:
    s = Settings.from_env(
        {k: v.upper() if k != "GRAPH_CLIENT_SECRET" else v for k, v in GOOD.items()}
        | {
            "HELPDESK_GROUP_ID": GROUP.upper(),
            "BLOCKED_GROUP_IDS": f"{GROUP.upper()},{GROUP}",
            "PRIVILEGED_ROLE_IDS": CUSTOM_ROLE.upper(),
            "TEAMS_APP_ID": CUSTOM_ROLE.upper(),
        }
    )
    assert s.tenant_id == GOOD["GRAPH_TENANT_ID"]
    assert s.graph_client_id == GOOD["GRAPH_CLIENT_ID"]
    assert (s.helpdesk_group_id, s.blocked_group_ids) == (GROUP, [GROUP])
    assert (s.privileged_role_ids, s.teams_app_id) == ([CUSTOM_ROLE], CUSTOM_ROLE)
    assert policy_config(s).blocked_group_ids == (GROUP,)


def test_privileged_role_ids_add_to_the_default_list() -> None:
    s = Settings.from_env(GOOD | {"PRIVILEGED_ROLE_IDS": CUSTOM_ROLE})
    assert s.protected_role_ids == PRIVILEGED_ROLE_IDS | {CUSTOM_ROLE}
    assert policy_config(s).privileged_role_ids == PRIVILEGED_ROLE_IDS | {CUSTOM_ROLE}
    assert policy_config(Settings.from_env(GOOD)).privileged_role_ids == PRIVILEGED_ROLE_IDS


def test_only_the_unsafe_setting_removes_a_default_role() -> None:
    s = Settings.from_env(GOOD | {"UNSAFE_UNPROTECTED_ROLE_IDS": HELPDESK_ADMIN.upper()})
    assert s.unprotected_role_ids == [HELPDESK_ADMIN]
    assert policy_config(s).privileged_role_ids == PRIVILEGED_ROLE_IDS - {HELPDESK_ADMIN}
    assert GLOBAL_ADMIN in policy_config(s).privileged_role_ids


def test_the_unsafe_setting_accepts_only_roles_of_the_default_list() -> None:
    assert CUSTOM_ROLE not in PRIVILEGED_ROLES
    (problem,) = problems(UNSAFE_UNPROTECTED_ROLE_IDS=f"{HELPDESK_ADMIN},{CUSTOM_ROLE}")
    assert problem.startswith(f"UNSAFE_UNPROTECTED_ROLE_IDS: {CUSTOM_ROLE} is not in tapbot's")


def test_a_role_both_added_and_removed_is_a_contradiction() -> None:
    (problem,) = problems(
        PRIVILEGED_ROLE_IDS=GLOBAL_ADMIN, UNSAFE_UNPROTECTED_ROLE_IDS=GLOBAL_ADMIN
    )
    assert "both PRIVILEGED_ROLE_IDS and UNSAFE_UNPROTECTED_ROLE_IDS" in problem
