"""A stand-in for the Bot Framework connector service that records what the bot sends."""

from __future__ import annotations

import threading
from typing import Any

from tests.bot.threaded import ThreadedJsonServer


class RecordingConnector:
    """Accepts ``/v3/conversations/...`` posts and puts on a free loopback port, keeping the
    bodies in `sent` and their paths in `paths`."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        # (method, path) of each recorded body, in the same order.
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadedJsonServer(self._record)

    def _record(self, method: str, path: str, body: Any) -> Any:
        if method not in ("POST", "PUT"):
            return None
        with self._lock:
            self.sent.append(body or {})
            self.calls.append((method, path))
            return {"id": f"activity-{len(self.sent)}"}

    @property
    def paths(self) -> list[str]:
        """The path of each recorded body, in order."""
        return [path for _, path in self.calls]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
