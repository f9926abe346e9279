"""`make run`'s check that its ports are free: TIME-WAIT leftovers are free, listeners are not."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from sandbox.stack import port_is_free

TIME_WAIT = "06"  # the state column of /proc/net/tcp
pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").is_file(), reason="reads TCP states from Linux's /proc/net/tcp"
)


def _states(port: int) -> list[str]:
    """The TCP states of every IPv4 socket whose local port is *port*."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return [row.split()[3] for row in rows if int(row.split()[1].split(":")[1], 16) == port]


def _listener() -> socket.socket:
    """A loopback listener set up as aiohttp and Node set theirs up (``SO_REUSEADDR``)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_a_port_with_only_a_time_wait_connection_is_free() -> None:
    """A server that closed a connection first and then stopped (Ctrl-C on `make run`) leaves
    the connection in TIME-WAIT on its port for a minute; a new server can listen there."""
    server = _listener()
    port: int = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first, so the TIME-WAIT is on the server's port
    assert client.recv(1) == b""  # the server's FIN arrived
    client.close()
    server.close()
    deadline = time.monotonic() + 5
    while TIME_WAIT not in _states(port) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _states(port) == [TIME_WAIT]
    assert port_is_free(port)


def test_a_port_with_a_listener_is_taken() -> None:
    with _listener() as server:
        assert not port_is_free(server.getsockname()[1])
