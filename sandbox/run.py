"""``make run``: the whole sandbox on this machine, or the bot alone when Azure settings exist.

With no ``MicrosoftAppId`` in the environment or ``.env``, it starts the fake tenant, the bot
on 127.0.0.1:3978 (talking to the fake tenant; /healthz and /metrics on 127.0.0.1:3979) and three
Agents Playground instances: the seeded manager's on 56150, a helpdesk member's on 56151 and a
second helpdesk member's, the approver, on 56153. It prints what to open and stops every
process it started, by PID, on Ctrl-C. `Sandbox` is also what the end-to-end tests start, on
free ports.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox import org
from sandbox.playground import Playground, PlaygroundUser, playground_config
from sandbox.stack import (
    ROOT,
    Process,
    bot_environment,
    port_is_free,
    run_joiner_sweep,
    start_bot,
    start_fake_tenant,
    wait_for_bot,
)
from sandbox.tenant import Tenant

MANAGER_PLAYGROUND_PORT = 56150
HELPDESK_PLAYGROUND_PORT = 56151
TENANT_PORT = 56152
APPROVER_PLAYGROUND_PORT = 56153
BOT_PORT = 3978
BOT_OPS_PORT = 3979


@dataclass(frozen=True, slots=True)
class Ports:
    """Where each sandbox process listens (0: any free port)."""

    bot: int = BOT_PORT
    bot_ops: int = BOT_OPS_PORT
    manager_playground: int = MANAGER_PLAYGROUND_PORT
    helpdesk_playground: int = HELPDESK_PLAYGROUND_PORT
    tenant: int = TENANT_PORT
    approver_playground: int = APPROVER_PLAYGROUND_PORT


@dataclass
class Sandbox:
    """The fake tenant, the bot and the two Playgrounds, started in order, stopped in reverse."""

    workdir: Path
    ports: Ports = field(default_factory=Ports)
    with_playgrounds: bool = True
    bot_settings: dict[str, str] = field(default_factory=dict)
    tenant: dict[str, Any] = field(default_factory=dict)
    manager: PlaygroundUser | None = None
    helpdesk: PlaygroundUser | None = None
    approver: PlaygroundUser | None = None
    # What the joiner sweep run at start printed (empty without Playgrounds).
    joiner_sweep: str = ""
    _bot_env: dict[str, str] = field(default_factory=dict)
    _processes: list[Process] = field(default_factory=list)
    _playgrounds: list[Playground] = field(default_factory=list)

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.bot}"

    @property
    def ops_url(self) -> str:
        """Where the bot serves /healthz and /metrics."""
        return f"http://127.0.0.1:{self.ports.bot_ops}"

    @property
    def playgrounds(self) -> list[Playground]:
        return list(self._playgrounds)

    def start(self) -> None:
        """Start everything; on any failure stop what already runs and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        wanted = [port for port in (self.ports.bot, self.ports.bot_ops, self.ports.tenant) if port]
        if self.with_playgrounds:
            wanted += [
                self.ports.manager_playground,
                self.ports.helpdesk_playground,
                self.ports.approver_playground,
            ]
        taken = [port for port in wanted if not port_is_free(port)]
        if taken:
            raise RuntimeError(
                f"port(s) {', '.join(map(str, taken))} on 127.0.0.1 are in use; stop whatever "
                "uses them (an earlier `make run`?) and try again"
            )
        logs = self.workdir / "logs"
        process, self.tenant = start_fake_tenant(
            self.workdir / "tenant", port=self.ports.tenant, log_dir=logs
        )
        self._processes.append(process)
        database = self.workdir / "tapbot.db"
        env = (
            bot_environment(
                self.tenant,
                port=self.ports.bot,
                ops_port=self.ports.bot_ops,
                database_url=f"sqlite+aiosqlite:///{database}",
            )
            # The person a pass is for hears of it by text or email: the outbox shows both.
            | {"NOTICE_METHODS": "sms,email"}
            | self.bot_settings
        )
        self._bot_env = env
        bot = start_bot(env, log_dir=logs)
        self._processes.append(bot)
        wait_for_bot(self.ports.bot, self.ports.bot_ops, timeout=60, process=bot)
        if self.with_playgrounds:
            self._start_playgrounds()
            # Each Playground introduced its user to the bot as it started (`announce`), so
            # today's joiner reminders can reach them.
            self.joiner_sweep = run_joiner_sweep(self._bot_env, log_dir=logs)

    def _start_playgrounds(self) -> None:
        people = seeded_people()
        self.manager = people[org.MANAGER_ID]
        self.helpdesk = people[org.HELPDESK_MEMBER_IDS[0]]
        self.approver = people[org.HELPDESK_MEMBER_IDS[1]]
        for me, port in (
            (self.manager, self.ports.manager_playground),
            (self.helpdesk, self.ports.helpdesk_playground),
            (self.approver, self.ports.approver_playground),
        ):
            others = [p for i, p in people.items() if i in _colleagues_of(me) and p != me][:5]
            config = playground_config(
                tenant_id=org.TENANT_ID,
                me=me,
                others=others,
                chat_suffix=str(port),
                team_group_id=org.HELPDESK_GROUP_ID,
            )
            playground = Playground(
                self.workdir / f"playground-{port}",
                port=port,
                bot_endpoint=f"{self.bot_url}/api/messages",
                config=config,
            )
            playground.start()
            self._playgrounds.append(playground)
            # The bot can then post approval cards to this person's copy of the team at once.
            playground.announce()

    def ended(self) -> str:
        """The name of a process that has exited on its own, or empty."""
        for process in self._processes:
            if process.popen.poll() is not None:
                return f"{process.name} (see {process.log_path})"
        for playground in self._playgrounds:
            if playground.process is not None and playground.process.poll() is not None:
                return f"the Playground on port {playground.port} (see {playground.log_path})"
        return ""

    def stop(self) -> None:
        for playground in reversed(self._playgrounds):
            playground.stop()
        self._playgrounds.clear()
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()


def seeded_people() -> dict[str, PlaygroundUser]:
    """Every seeded account as the Playground needs it, by object id."""
    tenant: Tenant = org.seed(datetime.now(UTC))
    return {
        user.id: PlaygroundUser(user.id, user.display_name, user.user_principal_name)
        for user in tenant.all_users()
    }


def _colleagues_of(me: PlaygroundUser) -> list[str]:
    """The five other people in a Playground: the helpdesk and the manager's first reports."""
    tenant = org.seed(datetime.now(UTC))
    ids = [org.MANAGER_ID, *org.HELPDESK_MEMBER_IDS]
    ids += [user.id for user in tenant.direct_reports(org.MANAGER_ID)]
    return [i for i in dict.fromkeys(ids) if i != me.aad_object_id]


def _banner(sandbox: Sandbox) -> str:
    tenant = sandbox.tenant
    assert sandbox.manager is not None
    assert sandbox.helpdesk is not None
    assert sandbox.approver is not None
    return f"""
tapbot sandbox is running (everything on 127.0.0.1; Ctrl-C stops it all).

  Open in a browser:
    {sandbox.playgrounds[0].url}  Teams as {sandbox.manager.name} (manager)
    {sandbox.playgrounds[1].url}  Teams as {sandbox.helpdesk.name} (helpdesk)
    {sandbox.playgrounds[2].url}  Teams as {sandbox.approver.name} (helpdesk: approves requests)
    {tenant["home_url"]}  the fake tenant: people, managers, passes
    {tenant["outbox_url"]}  every email and SMS that "left"

  Type "help" in a Playground chat to start. The bot listens on {sandbox.bot_url}/api/messages
  (health and metrics: {sandbox.ops_url}/healthz, /metrics); logs are in {sandbox.workdir / "logs"}.

  Today's joiner sweep (Olivia's chat shows the reminders):
{_indented(sandbox.joiner_sweep)}
"""


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())


def production_configured(environ: dict[str, str], env_file: Path) -> bool:
    """True when Azure settings (a Bot Framework app id) are present."""
    if environ.get("MicrosoftAppId"):
        return True
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "MicrosoftAppId" and value.strip().strip("'\""):
                return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "sandbox")
    args = parser.parse_args(argv)
    if production_configured(dict(os.environ), ROOT / ".env"):
        print("Azure settings found: running the bot alone (production mode).", flush=True)
        os.execv(sys.executable, [sys.executable, "-m", "bot"])  # noqa: S606  # our own module
    sandbox = Sandbox(args.workdir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C must work even when started from a shell that ignores SIGINT for its children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("Starting the fake tenant, the bot and three Agents Playgrounds…", flush=True)
    try:
        sandbox.start()
        print(_banner(sandbox), flush=True)
        while not stop.wait(1.0):
            ended = sandbox.ended()
            if ended:
                print(f"{ended} stopped unexpectedly; stopping the rest.", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"The sandbox could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping the sandbox…", flush=True)
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
