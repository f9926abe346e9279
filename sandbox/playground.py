"""Start the Microsoft 365 Agents Playground as a local Teams client for one seeded person.

Recipe and limits: shared/facts/teams-playground.md. The Playground binds every interface and
silently moves to a random port when its port is taken; a tiny ``node -r`` preload forces
127.0.0.1, and we read the real port from its "Listening on N" line and refuse a moved port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sandbox.stack import stop_process

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
BOT_ID = "28:tapbot-sandbox"
BOT_NAME = "tapbot"
# One "IT Helpdesk" team shared by every Playground (teams-playground.md §12.3): the same ids
# in each, so a card posted to the Approvals channel is the same conversation everywhere.
TEAM_ID = "19:it-helpdesk@thread.tacv2"
APPROVALS_CHANNEL_ID = "19:approvals@thread.tacv2"
GROUP_CHAT_ID = "19:helpdesk-chat@thread.v2"

# Makes every listen(port) without a host bind to loopback only (the Playground has no option).
_BIND_LOOPBACK_JS = """\
const net = require('net'); const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  if (typeof a[0] === 'number' || (typeof a[0] === 'string' && /^\\d+$/.test(a[0]))) {
    if (typeof a[1] !== 'string') a.splice(1, 0, '127.0.0.1');
  } else if (a[0] && typeof a[0] === 'object' && !a[0].path && !a[0].host) {
    a[0] = { ...a[0], host: '127.0.0.1' };
  }
  return listen.apply(this, a);
};
"""
_LISTENING = re.compile(r"Listening on (\d+)")


@dataclass(frozen=True, slots=True)
class PlaygroundUser:
    """A seeded person as the Playground needs them (its schema requires every field)."""

    aad_object_id: str
    name: str
    upn: str

    def as_config(self) -> dict[str, str]:
        given, _, surname = self.name.partition(" ")
        return {
            "id": f"29:{self.aad_object_id}",
            "name": self.name,
            "userPrincipleName": self.upn,  # sic: the Playground's schema spells it so
            "aadObjectId": self.aad_object_id,
            "givenName": given,
            "surname": surname or given,
            "email": self.upn,
        }


def playground_config(
    *,
    tenant_id: str,
    me: PlaygroundUser,
    others: list[PlaygroundUser],
    chat_suffix: str,
    team_group_id: str,
) -> dict[str, object]:
    """The ``.m365agentsplayground.yml`` content (JSON is valid YAML) for *me* as current user.

    Every Playground shares the team, its channels and the group chat; only the current user
    and their personal chat differ. *team_group_id* is the team's Entra group (the helpdesk's,
    so tapbot installed there knows it is the helpdesk team)."""
    if len(others) != 5:
        raise ValueError("the Playground's schema wants exactly 5 other users")
    return {
        "version": "0.1.1",
        "tenantId": tenant_id,
        "bot": {"id": BOT_ID, "name": BOT_NAME},
        "currentUser": me.as_config(),
        "users": [u.as_config() for u in others],
        "personalChat": {"id": f"a:personal-{chat_suffix}"},
        "groupChat": {"id": GROUP_CHAT_ID, "name": "Helpdesk chat"},
        "team": {
            "id": TEAM_ID,
            "name": "IT Helpdesk",
            "aadGroupId": team_group_id,
            "channels": [{"id": APPROVALS_CHANNEL_ID, "name": "Approvals"}],
        },
    }


class Playground:
    """One Playground process. `start` waits until it listens; `stop` ends it by PID."""

    def __init__(self, workdir: Path, *, port: int, bot_endpoint: str, config: dict[str, object]):
        self.workdir = workdir
        self.port = port
        self.bot_endpoint = bot_endpoint
        self.config = config
        self.process: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None
        self.log_path = workdir / "playground.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        if not CLI.is_file():
            raise RuntimeError(f"{CLI} is missing: run `npm ci` (make install does it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        shim = self.workdir / "bind-loopback.js"
        shim.write_text(_BIND_LOOPBACK_JS)
        config_path = self.workdir / ".m365agentsplayground.yml"
        config_path.write_text(json.dumps(self.config, indent=2))
        env = os.environ | {
            "TEAMSAPPTESTER_BROWSER": "none",
            "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(config_path),
            "M365_AGENTS_PLAYGROUND_LOGFILE": str(self.workdir / "devTools.log"),
        }
        command = [
            "node", "-r", str(shim), str(CLI), "start",
            "-e", self.bot_endpoint, "-c", "msteams", "--disable-telemetry",
            "-p", str(self.port), "--service-url", f"{self.url}/_connector",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603  # fixed command, no shell
            command, cwd=self.workdir, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        port, self._pump = _wait_for_port(self.process, self.log_path, timeout)
        if port != self.port:
            self.stop()
            raise RuntimeError(f"port {self.port} is taken; the Playground moved to {port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, self._pump)

    def announce(self, timeout: float = 10.0) -> None:
        """Make the bot meet this Playground's current user in their personal chat, as opening
        the tab would, but without a welcome card: a ``conversationUpdate`` the Playground
        forwards to the bot. Afterwards the bot can reach them (and this Playground's copy of
        the shared team's channels) proactively."""
        config = self.config
        me = config["currentUser"]
        assert isinstance(me, dict)
        activity = {
            "type": "conversationUpdate",
            "channelId": "msteams",
            "serviceUrl": f"{self.url}/_connector",
            "from": {"id": me["id"], "name": me["name"], "aadObjectId": me["aadObjectId"]},
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "conversation": {
                "id": config["personalChat"]["id"],  # type: ignore[index]
                "conversationType": "personal",
                "tenantId": config["tenantId"],
            },
            "membersAdded": [{"id": me["id"], "aadObjectId": me["aadObjectId"]}],
            "channelData": {"tenant": {"id": config["tenantId"]}},
        }
        request = urllib.request.Request(  # noqa: S310  # our own loopback Playground
            f"{self.url}/_internal/v1/customActivities",
            data=json.dumps(activity).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310  # loopback
            pass


def _wait_for_port(
    process: subprocess.Popen[str], log_path: Path, timeout: float
) -> tuple[int, threading.Thread]:
    """Copy the Playground's output to *log_path*; return the port it says it listens on and
    the thread doing the copying."""
    found: list[int] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        with log_path.open("a") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                match = _LISTENING.search(line)
                if match and not found:
                    found.append(int(match.group(1)))
                    ready.set()
        ready.set()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    if not ready.wait(timeout) or not found:
        stop_process(process, thread)
        raise RuntimeError(f"the Playground did not start; see {log_path}")
    return found[0], thread
