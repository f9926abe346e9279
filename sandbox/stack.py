"""Start and stop the sandbox's processes: fake tenant, bot, Agents Playground instances.

Used by ``make run`` (`sandbox.run`) and by the end-to-end tests. Every process binds 127.0.0.1,
is started by us and stopped by its PID.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """True when a server could listen on 127.0.0.1:*port* now.

    Binds as the servers we start do (aiohttp and Node both set ``SO_REUSEADDR``): connections
    left in TIME-WAIT by a sandbox that just stopped do not count, a listening socket does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Process:
    """A child process with its output copied to a log file."""

    name: str
    popen: subprocess.Popen[str]
    log_path: Path
    pump: threading.Thread | None = None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate (then kill) the process by PID and release its output pipe."""
        stop_process(self.popen, self.pump, timeout)


def stop_process(
    popen: subprocess.Popen[str], pump: threading.Thread | None, timeout: float = 10.0
) -> None:
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=5)
    if pump is not None:
        pump.join(timeout=5)  # it ends at EOF, once the process is gone
    if popen.stdout is not None and (pump is None or not pump.is_alive()):
        popen.stdout.close()


def spawn(
    name: str, command: list[str], *, log_dir: Path, env: dict[str, str], first_line: bool = False
) -> tuple[Process, str | None]:
    """Start *command*; with *first_line*, wait for and return its first stdout line."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    popen = subprocess.Popen(  # noqa: S603  # our own interpreter and module, no shell
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    line: list[str] = []
    got_line = threading.Event()

    def pump() -> None:
        assert popen.stdout is not None
        with log_path.open("a") as log:
            for text in popen.stdout:
                if not line:
                    line.append(text)
                    got_line.set()
                log.write(text)
                log.flush()
        got_line.set()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    process = Process(name, popen, log_path, thread)
    if not first_line:
        return process, None
    if not got_line.wait(60) or not line:
        process.stop()
        raise RuntimeError(f"{name} exited before it was ready; see {log_path}")
    return process, line[0]


def start_fake_tenant(
    state_dir: Path, *, port: int = 0, log_dir: Path, extra: tuple[str, ...] = ()
) -> tuple[Process, dict[str, Any]]:
    """Run ``python -m sandbox`` (with *extra* arguments) and return it with its ready line's
    fields."""
    command = [sys.executable, "-m", "sandbox", "--port", str(port), "--https-port", "0",
               "--state-dir", str(state_dir), *extra]  # fmt: skip
    process, line = spawn("fake-tenant", command, log_dir=log_dir, env=dict(os.environ),
                          first_line=True)  # fmt: skip
    try:
        ready: dict[str, Any] = json.loads(line or "")
    except json.JSONDecodeError:
        process.stop()
        raise RuntimeError(f"the fake tenant did not start; see {process.log_path}") from None
    return process, ready


def bot_environment(
    ready: dict[str, Any],
    *,
    port: int,
    ops_port: int,
    database_url: str,
    sms_provider: str = "twilio",
) -> dict[str, str]:
    """The bot's settings for running against the fake tenant described by *ready*, with
    /api/messages on *port*, /healthz and /metrics on *ops_port*, and its Twilio fake (or, with
    *sms_provider* ``acs``, its ACS fake) as the SMS provider."""
    from sandbox import org
    from sandbox.playground import APPROVALS_CHANNEL_ID

    authority: str = ready["authority"]
    base: str = ready["base_url"]
    sms = {
        "twilio": {
            "SMS_PROVIDER": "twilio",
            "TWILIO_BASE_URL": f"{base}/twilio",
            "TWILIO_ACCOUNT_SID": org.TWILIO_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": org.TWILIO_AUTH_TOKEN,
            "TWILIO_FROM": org.TWILIO_FROM,
        },
        "acs": {
            "SMS_PROVIDER": "acs",
            "ACS_CONNECTION_STRING": f"endpoint={base}/acs/;accesskey={org.ACS_ACCESS_KEY}",
            "ACS_FROM": org.ACS_FROM,
        },
    }[sms_provider]
    return sms | {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OPS_HOST": "127.0.0.1",
        "OPS_PORT": str(ops_port),
        "DATABASE_URL": database_url,
        "GRAPH_TENANT_ID": ready["tenant_id"],
        "GRAPH_CLIENT_ID": ready["client_id"],
        "GRAPH_CLIENT_SECRET": ready["client_secret"],
        "GRAPH_AUTHORITY_HOST": authority.rsplit("/", 1)[0],
        "GRAPH_BASE_URL": ready["graph_url"],
        "GRAPH_CA_BUNDLE": ready["ca_cert_path"],
        "HELPDESK_GROUP_ID": org.HELPDESK_GROUP_ID,
        "HELPDESK_CHANNEL_ID": APPROVALS_CHANNEL_ID,
        "BLOCKED_GROUP_IDS": org.BLOCKED_GROUP_ID,
        # The joiners' first manager comes from HR provisioning: not a manager change.
        "HR_PROVISIONING_APP_IDS": org.HR_PROVISIONING_APP_ID,
        "MAIL_SENDER": org.MAILBOX_UPN,
        "TEAMS_APP_ID": org.TEAMS_APP_ID,
        "SMS_DEFAULT_REGION": "GB",
        "HELPDESK_CONTACT": "the Contoso service desk, extension 4000",
        "TIMEZONE": "Europe/London",
        # The runner sweeps once the Playgrounds have introduced their users to the bot
        # (`run_joiner_sweep`); a sweep at start-up would find nobody it can reach yet.
        "JOINER_SWEEP_AT_START": "false",
        "LOG_FORMAT": "console",
    }


def start_bot(env: dict[str, str], *, log_dir: Path) -> Process:
    """Run ``python -m bot`` with *env* (on top of ours, minus any Azure settings)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "GRAPH_"))}
    process, _ = spawn("bot", [sys.executable, "-m", "bot"], log_dir=log_dir, env=base | env)
    return process


def wait_for_bot(
    port: int, ops_port: int, *, timeout: float = 60.0, process: Process | None = None
) -> None:
    """Wait until the bot answers on its operator listener (/healthz, which starts first) and
    on its Teams port (/api/messages, a 405 to GET)."""
    wait_for_http(f"http://127.0.0.1:{ops_port}/healthz", timeout=timeout, process=process)
    wait_for_http(f"http://127.0.0.1:{port}/api/messages", timeout=timeout, process=process)


def run_joiner_sweep(env: dict[str, str], *, log_dir: Path, timeout: float = 120) -> str:
    """Run ``python -m bot joiners sweep`` with the bot's *env*; return what it printed.

    Its output is also appended to the bot's log folder. Raises RuntimeError if it fails."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "GRAPH_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "joiners", "sweep"],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "joiner-sweep.log").open("a") as log:
        log.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"the joiner sweep failed; see {log_dir / 'joiner-sweep.log'}")
    return done.stdout


def wait_for_http(url: str, *, timeout: float = 30.0, process: Process | None = None) -> None:
    """Wait until *url* answers with any HTTP status (or raise, naming the log to read)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited; see {process.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  # loopback URL we built
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    where = f"; see {process.log_path}" if process else ""
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s{where}")
