"""The sandbox's seeded organisation, Contoso, as plain data, and `seed` to build its `Tenant`.

Everything here is published sandbox data (the client secret too); none of it exists in any
real tenant. Ids are fixed so the bot's settings, the Playground and tests can name people.

    Amelia Hughes (CEO, no manager)
    ├── Olivia Bennett (MANAGER_ID: Playground tab 1)
    │   ├── Liam Carter, Grace Kim, Sophie Turner     ordinary members (ELIGIBLE_REPORT_IDS)
    │   ├── Noah Patel                                 PIM-eligible Privileged Auth. Admin
    │   ├── Harry Jones                                disabled account
    │   ├── Zoe Adams                                  manager changed two days ago by Robert
    │   ├── Marcus Reid                                Global Admin through a role group
    │   ├── Hannah Fleming                             PIM-eligible member of such a group
    │   └── Ethan Walsh, Mia Rossi, Oscar Nguyen       joiners in 3, 6 and 10 days, created with
    │                                                  Olivia as manager by HR provisioning
    └── Robert Lang (active Global Administrator)
        └── Daniel Okafor (SECOND_MANAGER_ID)
            ├── Priya Shah, Tom Becker, Chloe Martin   helpdesk group (Priya: Playground tab 2)
            └── Lucas Meyer, Ava Thompson
    Jordan Ellis (guest, sponsored by Olivia) · Break Glass 01 (blocked group, Global Admin)
    tapbot Notifications (the shared mailbox that sends mail)

Role-assignable groups, both holding Global Administrator actively: "Tier 0 Administrators"
(member Marcus Reid, owner Robert Lang) and "Global Administrators (just in time)" (Hannah
Fleming is only eligible to become a member, through PIM for Groups).

Mobile numbers come from the range Australia's regulator keeps for fiction (0491 570 xxx),
written the ways people write them. The UK's drama range (07700 900xxx) is not a valid number
to phonenumbers, so only Grace Kim has one: the case of a mobile that cannot take a text.
The SMS fakes' account and keys below are published sandbox values, like the client secret.

The HR inbound-provisioning app (`HR_PROVISIONING_APP_ID`) created the joiners' accounts 4, 8
and 12 days ago with their manager set at creation ("Add user" and "Set user manager" events
initiated by the app, and that ``createdDateTime``); the sandbox bot lists it in
HR_PROVISIONING_APP_IDS, so the joiners' first manager is not a manager change, while Zoe's
(set by a person) is. Everyone else's account was created `ACCOUNT_MADE_BEFORE_HIRE` before
their hire date, long before the audit log's reach.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from sandbox.directory_changes import ServicePrincipal
from sandbox.privileged import add_group_schedule, add_owner
from sandbox.tenant import GLOBAL_ADMINISTRATOR, Tenant, User

DOMAIN = "contoso.example"
COMPANY = "Contoso Ltd"
TENANT_ID = "4f6a9c2e-7b1d-4e8a-9c3f-2d5e8a1b7c40"
CLIENT_ID = "0c7e2f9a-3b6d-4a1e-8f5c-9d2b4e6a8c11"
CLIENT_SECRET = "sandbox-only~not-a-real-secret~tapbot"
TEAMS_APP_ID = "6d8a1f3c-2e9b-4c7a-b5d4-1a3e5c7f9b22"
HELPDESK_GROUP_ID = "a1b2c3d4-0001-4a5b-8c9d-0e1f2a3b4c01"
BLOCKED_GROUP_ID = "a1b2c3d4-0002-4a5b-8c9d-0e1f2a3b4c02"
EMERGENCY_GROUP_ID = "a1b2c3d4-0003-4a5b-8c9d-0e1f2a3b4c03"  # nested in the blocked group
FINANCE_GROUP_ID = "a1b2c3d4-0004-4a5b-8c9d-0e1f2a3b4c04"
TIER0_GROUP_ID = "a1b2c3d4-0005-4a5b-8c9d-0e1f2a3b4c05"  # role-assignable, holds GA
JIT_ADMIN_GROUP_ID = "a1b2c3d4-0006-4a5b-8c9d-0e1f2a3b4c06"  # role-assignable, holds GA
PRIVILEGED_AUTH_ADMIN = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
# The app's permissions, as the `roles` claim of its tokens carries them (facts §9.2).
APP_ROLES = (
    "User.Read.All",
    "GroupMember.Read.All",
    "RoleManagement.Read.Directory",
    "PrivilegedEligibilitySchedule.Read.AzureADGroup",
    "PrivilegedAssignmentSchedule.Read.AzureADGroup",
    "AuditLog.Read.All",
    "Policy.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "Mail.Send",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
)

CEO_ID = "10000000-0000-4000-8000-000000000001"
MANAGER_ID = "10000000-0000-4000-8000-000000000002"
GLOBAL_ADMIN_ID = "10000000-0000-4000-8000-000000000003"
SECOND_MANAGER_ID = "10000000-0000-4000-8000-000000000004"
LIAM_ID = "10000000-0000-4000-8000-000000000011"
GRACE_ID = "10000000-0000-4000-8000-000000000012"
SOPHIE_ID = "10000000-0000-4000-8000-000000000013"
PIM_ELIGIBLE_ADMIN_ID = "10000000-0000-4000-8000-000000000014"
DISABLED_ID = "10000000-0000-4000-8000-000000000015"
RECENT_MANAGER_CHANGE_ID = "10000000-0000-4000-8000-000000000016"
GROUP_ADMIN_ID = "10000000-0000-4000-8000-000000000017"  # Global Admin through a group
PIM_GROUP_ELIGIBLE_ID = "10000000-0000-4000-8000-000000000018"  # eligible member, PIM Groups
JOINER_IDS = (
    "10000000-0000-4000-8000-000000000021",
    "10000000-0000-4000-8000-000000000022",
    "10000000-0000-4000-8000-000000000023",
)
JOINER_DAYS = (3, 6, 10)
HELPDESK_MEMBER_IDS = (
    "10000000-0000-4000-8000-000000000031",
    "10000000-0000-4000-8000-000000000032",
    "10000000-0000-4000-8000-000000000033",
)
LUCAS_ID = "10000000-0000-4000-8000-000000000034"
AVA_ID = "10000000-0000-4000-8000-000000000035"
GUEST_ID = "10000000-0000-4000-8000-000000000041"
BREAK_GLASS_ID = "10000000-0000-4000-8000-000000000042"
MAILBOX_ID = "10000000-0000-4000-8000-000000000051"
MANAGED_IDENTITY_CLIENT_ID = "0c7e2f9a-3b6d-4a1e-8f5c-9d2b4e6a8c12"
# The HR system's inbound provisioning (API-driven, as Workday or SuccessFactors would be).
HR_PROVISIONING_APP_ID = "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a31"
HR_PROVISIONING_SP_ID = "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a32"
HR_PROVISIONING_NAME = "Contoso HR inbound provisioning"
JOINER_CREATED_DAYS_AGO = (4, 8, 12)
# How long before their first day the long-standing people's accounts were created.
ACCOUNT_MADE_BEFORE_HIRE = timedelta(days=14)

# The SMS providers' sandbox accounts (sandbox/sms_routes.py checks these).
TWILIO_ACCOUNT_SID = "AC5a1d0b7e3c9f24e68a0b1c2d3e4f5a6b"
TWILIO_AUTH_TOKEN = "sandbox0twilio0token0not0real000"
TWILIO_API_KEY_SID = "SK7c2e4a6b8d0f1e3a5c7e9b1d3f5a7c9e"
TWILIO_API_KEY_SECRET = "sandbox-twilio-key-secret-not-real"
TWILIO_FROM = "+15005550006"
TWILIO_MESSAGING_SERVICE_SID = "MG3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a"
ACS_ACCESS_KEY = "c2FuZGJveC1hY3MtYWNjZXNzLWtleS1ub3QtcmVhbC0wMDA="
ACS_FROM = "+18005550100"

ELIGIBLE_REPORT_IDS = (LIAM_ID, GRACE_ID, SOPHIE_ID)
MAILBOX_UPN = f"tapbot@{DOMAIN}"
MANAGER_UPN = f"olivia.bennett@{DOMAIN}"
SECOND_MANAGER_UPN = f"daniel.okafor@{DOMAIN}"
GUEST_UPN = f"jordan.ellis_fabrikam.example#EXT#@{DOMAIN}"

# id: (display name, job title, department, manager id, mobile phone, personal email)
PEOPLE: dict[str, tuple[str, str | None, str | None, str | None, str | None, str | None]] = {
    CEO_ID: ("Amelia Hughes", "Chief Executive Officer", "Executive", None,
             "+61 491 570 110", None),
    MANAGER_ID: ("Olivia Bennett", "Head of Finance Operations", "Finance", CEO_ID,
                 "+61491570156", None),
    GLOBAL_ADMIN_ID: ("Robert Lang", "IT Director", "IT", CEO_ID, "+61491570157", None),
    SECOND_MANAGER_ID: ("Daniel Okafor", "IT Service Desk Manager", "IT", GLOBAL_ADMIN_ID,
                        "+61491570158", None),
    LIAM_ID: ("Liam Carter", "Accounts Payable Specialist", "Finance", MANAGER_ID,
              "+61 491 570 006", "liam.carter.home@example.net"),
    GRACE_ID: ("Grace Kim", "Payroll Officer", "Finance", MANAGER_ID, "+447700900112", None),
    SOPHIE_ID: ("Sophie Turner", "Financial Analyst", "Finance", MANAGER_ID, None,
                "sophie.turner@example.org"),
    PIM_ELIGIBLE_ADMIN_ID: ("Noah Patel", "Finance Systems Administrator", "Finance",
                            MANAGER_ID, "+61491570159", "noah.patel@example.net"),
    DISABLED_ID: ("Harry Jones", "Credit Controller", "Finance", MANAGER_ID, "+61491570313",
                  None),
    RECENT_MANAGER_CHANGE_ID: ("Zoe Adams", "Management Accountant", "Finance", MANAGER_ID,
                               "+61491570737", "zoe.adams@example.org"),
    JOINER_IDS[0]: ("Ethan Walsh", "Junior Accountant", "Finance", MANAGER_ID,
                    "+61491571266", "ethan.walsh@example.net"),
    JOINER_IDS[1]: ("Mia Rossi", "Treasury Analyst", "Finance", MANAGER_ID, None,
                    "mia.rossi@example.org"),
    JOINER_IDS[2]: ("Oscar Nguyen", "Procurement Officer", "Finance", MANAGER_ID,
                    "+61 491 571 491", None),
    HELPDESK_MEMBER_IDS[0]: ("Priya Shah", "Service Desk Analyst", "IT", SECOND_MANAGER_ID,
                             "+61491571804", None),
    HELPDESK_MEMBER_IDS[1]: ("Tom Becker", "Service Desk Analyst", "IT", SECOND_MANAGER_ID,
                             "+61491572549", None),
    HELPDESK_MEMBER_IDS[2]: ("Chloe Martin", "Senior Service Desk Analyst", "IT",
                             SECOND_MANAGER_ID, None, None),
    LUCAS_ID: ("Lucas Meyer", "Desktop Support Engineer", "IT", SECOND_MANAGER_ID,
               "+61491572665", "lucas.meyer@example.net"),
    AVA_ID: ("Ava Thompson", "IT Asset Coordinator", "IT", SECOND_MANAGER_ID, None, None),
    GUEST_ID: ("Jordan Ellis (Fabrikam)", "Consultant", None, None, "+61491572983",
               "jordan.ellis@fabrikam.example"),
    BREAK_GLASS_ID: ("Break Glass 01", None, None, None, None, None),
    MAILBOX_ID: ("tapbot Notifications", None, None, None, None, None),
    GROUP_ADMIN_ID: ("Marcus Reid", "ERP Platform Lead", "Finance", MANAGER_ID, None, None),
    PIM_GROUP_ELIGIBLE_ID: ("Hannah Fleming", "Finance Systems Engineer", "Finance", MANAGER_ID,
                            None, None),
}  # fmt: skip


def upn_of(user_id: str) -> str:
    """The seeded person's user principal name."""
    if user_id == GUEST_ID:
        return GUEST_UPN
    if user_id == MAILBOX_ID:
        return MAILBOX_UPN
    if user_id == BREAK_GLASS_ID:
        return f"breakglass01@{DOMAIN}"
    name = PEOPLE[user_id][0]
    return ".".join(name.lower().split()) + f"@{DOMAIN}"


def name_of(user_id: str) -> str:
    return PEOPLE[user_id][0]


def hire_date(now: datetime, days: int) -> datetime:
    """A joiner's start: 09:00 UTC, *days* calendar days after *now*'s date."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=days), time(9), UTC)


def seed(now: datetime, *, clock: Callable[[], datetime] | None = None) -> Tenant:
    """Build Contoso as of *now* (aware): no passes, joiners 3/6/10 days ahead, one recent
    manager change. *clock* (default: the real clock) drives the tenant afterwards."""
    tenant = Tenant(TENANT_ID, clock=clock) if clock else Tenant(TENANT_ID)
    for principal in (
        ServicePrincipal(HR_PROVISIONING_SP_ID, HR_PROVISIONING_APP_ID, HR_PROVISIONING_NAME),
        ServicePrincipal("0c7e2f9a-3b6d-4a1e-8f5c-9d2b4e6a8c13", CLIENT_ID, "tapbot"),
    ):
        tenant.service_principals[principal.app_id] = principal
    created_days_ago = dict(zip(JOINER_IDS, JOINER_CREATED_DAYS_AGO, strict=True))
    for index, (user_id, spec) in enumerate(PEOPLE.items()):
        name, title, department, manager_id, mobile, personal = spec
        given, _, surname = name.partition(" ")
        upn = upn_of(user_id)
        user = User(
            id=user_id,
            display_name=name,
            given_name=given,
            surname=surname,
            user_principal_name=upn,
            job_title=title,
            department=department,
            company_name=COMPANY if department else None,
            office_location="London" if department else None,
            mail="jordan.ellis@fabrikam.example" if user_id == GUEST_ID else upn,
            other_mails=[personal] if personal else [],
            mobile_phone=mobile,
            business_phones=["+442079460000"] if department else [],
            user_type="Guest" if user_id == GUEST_ID else "Member",
            # A shared mailbox is a user whose sign-in is blocked.
            account_enabled=user_id not in (DISABLED_ID, MAILBOX_ID),
            employee_hire_date=now - timedelta(days=400 + 37 * index),
            created_date_time=now - timedelta(days=400 + 37 * index) - ACCOUNT_MADE_BEFORE_HIRE,
        )
        if user_id in created_days_ago:
            # HR provisioning made the account with its manager, days before the start.
            at = now - timedelta(days=created_days_ago[user_id])
            tenant.create_user(user, manager_id=manager_id, at=at, by_app=HR_PROVISIONING_APP_ID)
        else:
            tenant.add_user(user)
    for joiner, days in zip(JOINER_IDS, JOINER_DAYS, strict=True):
        tenant.users[joiner].employee_hire_date = hire_date(now, days)
    for special in (GUEST_ID, BREAK_GLASS_ID, MAILBOX_ID):
        tenant.users[special].employee_hire_date = None
    for user_id, spec in PEOPLE.items():
        if spec[3] is not None and user_id != RECENT_MANAGER_CHANGE_ID:
            tenant.managers[user_id] = spec[3]
    # Zoe moved from Daniel to Olivia two days ago; Lucas joined Daniel's team long ago.
    tenant.managers[RECENT_MANAGER_CHANGE_ID] = SECOND_MANAGER_ID
    tenant.set_manager(
        RECENT_MANAGER_CHANGE_ID, MANAGER_ID, at=now - timedelta(days=2), by=GLOBAL_ADMIN_ID
    )
    tenant.set_manager(LUCAS_ID, SECOND_MANAGER_ID, at=now - timedelta(days=90), by=CEO_ID)
    tenant.sponsors[GUEST_ID] = [MANAGER_ID]

    tenant.add_group(HELPDESK_GROUP_ID, "Helpdesk - TAP issuers", *HELPDESK_MEMBER_IDS)
    tenant.add_group(EMERGENCY_GROUP_ID, "Emergency access accounts", BREAK_GLASS_ID)
    tenant.add_group(BLOCKED_GROUP_ID, "TAP blocked accounts", EMERGENCY_GROUP_ID)
    tenant.add_group(
        FINANCE_GROUP_ID,
        "Finance",
        *(u for u, spec in PEOPLE.items() if spec[2] == "Finance"),
    )
    tenant.assign_role(GLOBAL_ADMIN_ID, GLOBAL_ADMINISTRATOR)
    tenant.assign_role(BREAK_GLASS_ID, GLOBAL_ADMINISTRATOR)
    tenant.assign_role(PIM_ELIGIBLE_ADMIN_ID, PRIVILEGED_AUTH_ADMIN, eligible=True)
    tenant.add_group(TIER0_GROUP_ID, "Tier 0 Administrators", GROUP_ADMIN_ID, role_assignable=True)
    add_owner(tenant, TIER0_GROUP_ID, GLOBAL_ADMIN_ID)
    tenant.assign_role(TIER0_GROUP_ID, GLOBAL_ADMINISTRATOR)
    tenant.add_group(
        JIT_ADMIN_GROUP_ID, "Global Administrators (just in time)", role_assignable=True
    )
    tenant.assign_role(JIT_ADMIN_GROUP_ID, GLOBAL_ADMINISTRATOR)
    add_group_schedule(
        tenant, PIM_GROUP_ELIGIBLE_ID, JIT_ADMIN_GROUP_ID, start=now - timedelta(days=30)
    )
    tenant.teams_apps[TEAMS_APP_ID] = "tapbot"
    tenant.app_roles.update(APP_ROLES)
    return tenant


def synthetic_report_id(n: int) -> str:
    """The id of the *n*-th synthetic report (benchmarks ask for a fresh target per flow)."""
    return f"20000000-0000-4000-8000-{n:012d}"


def add_synthetic_reports(tenant: Tenant, count: int, now: datetime) -> None:
    """Give the manager *count* more ordinary, eligible reports ("Bench User 0001", …)."""
    for n in range(count):
        name = f"Bench User {n + 1:04d}"
        alias = f"bench.user{n + 1:04d}"
        tenant.add_user(
            User(
                id=synthetic_report_id(n),
                display_name=name,
                given_name="Bench",
                surname=f"User {n + 1:04d}",
                user_principal_name=f"{alias}@{DOMAIN}",
                job_title="Analyst",
                department="Finance",
                mail=f"{alias}@{DOMAIN}",
                employee_hire_date=now - timedelta(days=365),
                created_date_time=now - timedelta(days=365) - ACCOUNT_MADE_BEFORE_HIRE,
            ),
            manager_id=MANAGER_ID,
        )


def synthetic_user_id(n: int) -> str:
    """The id of the *n*-th user of a synthetic tenant (`add_synthetic_tenant`)."""
    return f"30000000-0000-4000-8000-{n:012d}"


JOINERS_PER_SYNTHETIC_MANAGER = 20
SYNTHETIC_JOINER_CREATED = timedelta(days=5)


def add_synthetic_tenant(tenant: Tenant, users: int, joiners: int, now: datetime) -> list[str]:
    """Add *users* synthetic members, *joiners* of them starting within the next 7 days (spread
    evenly, written as dates, their accounts created `SYNTHETIC_JOINER_CREATED` ago) with a
    synthetic manager for every 20, the rest hired (and created) long ago. Return the
    managers' ids (benchmarks reach them in Teams)."""
    if joiners > users:
        raise ValueError("a tenant cannot have more joiners than users")
    managers = [synthetic_user_id(n) for n in range(-(-joiners // JOINERS_PER_SYNTHETIC_MANAGER))]
    today = now.astimezone(UTC).date()
    for n in range(users):
        user_id = synthetic_user_id(n)
        is_manager = n < len(managers)
        joiner = len(managers) <= n < len(managers) + joiners
        index = n - len(managers)
        alias = f"synthetic.user{n:06d}"
        hired = (
            datetime.combine(today + timedelta(days=1 + index % 7), time(0), UTC)
            if joiner
            else now - timedelta(days=400 + n % 3000)
        )
        tenant.add_user(
            User(
                id=user_id,
                display_name=f"Synthetic User {n:06d}",
                given_name="Synthetic",
                surname=f"User {n:06d}",
                user_principal_name=f"{alias}@{DOMAIN}",
                job_title="Bench Manager" if is_manager else "Analyst",
                department="Operations",
                company_name=COMPANY,
                mail=f"{alias}@{DOMAIN}",
                employee_hire_date=hired,
                created_date_time=(
                    now - SYNTHETIC_JOINER_CREATED if joiner else hired - ACCOUNT_MADE_BEFORE_HIRE
                ),
            ),
            manager_id=managers[index // JOINERS_PER_SYNTHETIC_MANAGER] if joiner else None,
        )
    return managers
