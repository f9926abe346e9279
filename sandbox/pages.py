"""The fake tenant's own pages and controls (no token needed; loopback only).

- ``GET /``: the seeded organisation (who manages whom, groups, each person's effective roles
  and where each comes from, hire dates, each person's pass state); ``GET /outbox``: every
  email and SMS that left. Pass values never appear: the tenant blanks them out of message
  bodies (`Tenant.redact`).
- JSON twins: ``GET /_sandbox/org.json``, ``/_sandbox/outbox.json``, ``/_sandbox/passes.json``.
- ``POST /_sandbox/faults`` (one fault object or a list; see `sandbox.faults`), ``GET`` lists,
  ``DELETE`` clears; ``POST /_sandbox/reset`` reseeds the organisation (and clears faults);
  ``POST /_sandbox/manager`` ``{"userId", "managerId"}`` changes a manager with an audit event;
  ``POST /_sandbox/audit-delay`` ``{"seconds"}`` sets how long new audit events stay out of the
  audit log (Entra's lag); ``POST /_sandbox/token`` (sandbox.token_routes) mints Graph tokens
  for a person or another app, to change the directory as they would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from html import escape

from aiohttp import web

from sandbox.faults import FaultBoard, fault_from_json
from sandbox.tenant import GraphError, Tenant
from sandbox.views import org_summary, outbox_summaries, pass_summaries

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}.tag{background:#eef;border-radius:.3rem;
padding:0 .3rem;margin-right:.2rem}pre{white-space:pre-wrap;margin:0;max-width:60rem}
"""


def _page(title: str, body: str) -> web.Response:
    html = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        '<p><a href="/">Organisation</a> · <a href="/outbox">Outbox</a></p>'
        f"{body}</body></html>"
    )
    return web.Response(text=html, content_type="text/html")


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{lines}</table>"


class Pages:
    """Pages and controls over the live tenant; *reseed* builds a fresh one."""

    def __init__(
        self, tenant: Callable[[], Tenant], faults: FaultBoard, reseed: Callable[[], None]
    ) -> None:
        self._tenant = tenant
        self._faults = faults
        self._reseed = reseed

    def add_to(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/", self.home, name="home")
        r.add_get("/outbox", self.outbox, name="outbox")
        r.add_get("/_sandbox/org.json", self.org_json)
        r.add_get("/_sandbox/outbox.json", self.outbox_json)
        r.add_get("/_sandbox/passes.json", self.passes_json)
        r.add_get("/_sandbox/faults", self.list_faults)
        r.add_post("/_sandbox/faults", self.add_faults)
        r.add_delete("/_sandbox/faults", self.clear_faults)
        r.add_post("/_sandbox/reset", self.reset)
        r.add_post("/_sandbox/manager", self.set_manager)
        r.add_post("/_sandbox/audit-delay", self.set_audit_delay)

    async def home(self, request: web.Request) -> web.Response:
        tenant = self._tenant()
        now = tenant.clock()
        summary = org_summary(tenant)
        names = {u["id"]: u["displayName"] for u in summary["users"]}

        def person(user_id: str | None) -> str:
            return escape(names.get(user_id or "", "—"))

        def pass_state(user_id: str) -> str:
            entry = tenant.passes.get(user_id)
            if entry is None:
                return "none"
            _, reason = entry.usability(now)
            return escape(
                f"{reason}; {entry.lifetime} min from {entry.start:%Y-%m-%d %H:%M} UTC"
                + ("; one-time" if entry.is_usable_once else "")
            )

        rows = []
        for u in summary["users"]:
            tags = [
                "guest" if u["userType"] == "Guest" else "",
                "disabled" if not u["accountEnabled"] else "",
                *(f"{r['kind']}: {r['role']} ({r['how']})" for r in u["roles"]),
                *u["groups"],
            ]
            hire = u["employeeHireDate"] or ""
            rows.append(
                [
                    f"<b>{escape(u['displayName'])}</b><br><small>{escape(u['userPrincipalName'])}"
                    f"<br>{escape(u['id'])}</small>",
                    escape(u["jobTitle"] or ""),
                    person(u["managerId"]),
                    ", ".join(person(s) for s in u["sponsorIds"]),
                    "".join(f"<span class=tag>{escape(t)}</span>" for t in tags if t),
                    escape(hire[:10]),
                    escape(u["mobilePhone"] or ""),
                    escape(", ".join(u["otherMails"])),
                    pass_state(u["id"]),
                ]
            )
        policy = summary["tapPolicy"]
        body = (
            f"<p>Tenant <code>{escape(tenant.tenant_id)}</code> · today "
            f"{now:%Y-%m-%d %H:%M} UTC · TAP policy {escape(policy['state'])}, "
            f"{policy['minimumLifetimeInMinutes']} to {policy['maximumLifetimeInMinutes']} min "
            f"(default {policy['defaultLifetimeInMinutes']}), "
            f"{'one-time only' if policy['isUsableOnce'] else 'multi-use allowed'}</p>"
            + _table(
                [
                    "Person",
                    "Job title",
                    "Manager",
                    "Sponsor",
                    "Roles and groups",
                    "Hire date",
                    "Mobile",
                    "Personal email",
                    "Temporary Access Pass",
                ],
                rows,
            )
        )
        return _page("Fake Entra tenant: Contoso", body)

    async def outbox(self, request: web.Request) -> web.Response:
        items = outbox_summaries(self._tenant())
        rows = [
            [
                escape(i["at"][:19].replace("T", " ")),
                escape(f"{i['kind']} ({i['channel']})")
                + (f"<br><small>{escape(i['reference'])}</small>" if i["reference"] else ""),
                escape(i["sender"]),
                escape(", ".join(i["to"] + [f"cc {c}" for c in i["cc"]])),
                f"<b>{escape(i['subject'])}</b><pre>{escape(i['body'])}</pre>",
            ]
            for i in reversed(items)
        ]
        body = (
            "<p>Pass values are hidden here; they reach only the person they were sent to.</p>"
            + (
                _table(["Sent (UTC)", "Kind", "From", "To", "Message"], rows)
                if rows
                else "<p>Nothing has been sent yet.</p>"
            )
        )
        return _page("Outbox", body)

    async def org_json(self, request: web.Request) -> web.Response:
        return web.json_response(org_summary(self._tenant()))

    async def outbox_json(self, request: web.Request) -> web.Response:
        return web.json_response({"value": outbox_summaries(self._tenant())})

    async def passes_json(self, request: web.Request) -> web.Response:
        return web.json_response({"value": pass_summaries(self._tenant())})

    async def list_faults(self, request: web.Request) -> web.Response:
        return web.json_response({"value": [f.to_json() for f in self._faults.faults]})

    async def add_faults(self, request: web.Request) -> web.Response:
        try:
            spec = json.loads(await request.text())
            faults = [fault_from_json(s) for s in (spec if isinstance(spec, list) else [spec])]
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for fault in faults:
            self._faults.add(fault)
        return web.json_response({"value": [f.to_json() for f in self._faults.faults]}, status=201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        self._faults.clear()
        return web.Response(status=204)

    async def reset(self, request: web.Request) -> web.Response:
        self._faults.clear()
        self._reseed()
        return web.json_response({"reset": datetime.now(UTC).isoformat()})

    async def set_manager(self, request: web.Request) -> web.Response:
        try:
            spec = json.loads(await request.text())
            self._tenant().set_manager(spec["userId"], spec.get("managerId"))
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "expected {userId, managerId}"}, status=400)
        except GraphError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        return web.Response(status=204)

    async def set_audit_delay(self, request: web.Request) -> web.Response:
        try:
            seconds = json.loads(await request.text())["seconds"]
        except (ValueError, KeyError, TypeError):
            seconds = None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            return web.json_response({"error": "expected {seconds: a number >= 0}"}, status=400)
        self._tenant().audit_delay = timedelta(seconds=seconds)
        return web.json_response({"seconds": seconds})
