"""A test client for the Agents Playground's REST and WebSocket API (teams-playground.md §8)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

Event = dict[str, Any]


class PlaygroundClient:
    """Talk to one Playground as its current user, and as other configured users for cards."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.http = http
        self.config: dict[str, Any] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        async with self.http.get(f"{self.base_url}/_internal/v1/config") as response:
            response.raise_for_status()
            self.config = (await response.json())["config"]
        ws_url = (
            self.base_url.replace("http", "ws", 1) + "/_ws_conversation/v1/conversations/stream"
        )
        self._ws = await self.http.ws_connect(ws_url)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self._events.put(json.loads(message.data))

    @property
    def me(self) -> str:
        return str(self.config["currentUser"]["id"])

    @property
    def personal_chat(self) -> str:
        return str(self.config["personalChat"]["id"])

    async def install(self) -> None:
        """Send installationUpdate + conversationUpdate for the personal chat, as on UI load."""
        url = f"{self.base_url}/_debug/conversation/{self.personal_chat}/installation"
        async with self.http.post(url, json={}) as response:
            response.raise_for_status()

    async def say(self, text: str) -> None:
        url = f"{self.base_url}/_conversation/v1/conversations/{self.personal_chat}/messages"
        payload = {"from": {"id": self.me}, "text": text, "textFormat": "plain"}
        async with self.http.post(url, json=payload) as response:
            response.raise_for_status()

    async def submit(
        self, reply_to: str, value: dict[str, Any], *, as_user: str | None = None
    ) -> None:
        payload = {
            "conversation": {"id": self.personal_chat},
            "from": {"id": as_user or self.me},
            "replyToId": reply_to,
            "value": value,
        }
        async with self.http.post(f"{self.base_url}/_conversation/v1/submit", json=payload) as r:
            r.raise_for_status()

    async def invoke(
        self,
        reply_to: str,
        verb: str,
        data: dict[str, Any],
        *,
        as_user: str | None = None,
        conversation: str | None = None,
    ) -> dict[str, Any]:
        """Click an Action.Execute button on the card *reply_to*, in the personal chat or in
        *conversation* (a channel thread: ``<channel id>;messageid=<root id>``)."""
        payload = {
            "name": "adaptiveCard/action",
            "conversation": {"id": conversation or self.personal_chat},
            "from": {"id": as_user or self.me},
            "replyToId": reply_to,
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}},
        }
        async with self.http.post(f"{self.base_url}/_conversation/v1/invoke", json=payload) as r:
            r.raise_for_status()
            body: dict[str, Any] = await r.json()
            return body

    async def next_message(
        self, predicate: Callable[[Event], bool], wait_seconds: float = 20.0
    ) -> Event:
        """Return the next create/update message event that satisfies *predicate*."""

        async def wait() -> Event:
            while True:
                event = await self._events.get()
                if event.get("action") in {"createMessage", "updateMessage"} and predicate(event):
                    return event

        return await asyncio.wait_for(wait(), wait_seconds)

    async def each_message(
        self, *predicates: Callable[[Event], bool], wait_seconds: float = 20.0
    ) -> list[Event]:
        """Return, in the order of *predicates*, the first create/update message event that
        satisfies each, whatever order they arrive in."""
        found: dict[int, Event] = {}

        async def wait() -> None:
            while len(found) < len(predicates):
                event = await self._events.get()
                if event.get("action") not in {"createMessage", "updateMessage"}:
                    continue
                for index, predicate in enumerate(predicates):
                    if index not in found and predicate(event):
                        found[index] = event
                        break

        await asyncio.wait_for(wait(), wait_seconds)
        return [found[i] for i in range(len(predicates))]

    def drain(self) -> None:
        """Forget buffered events (the Playground replays old ones to a new socket)."""
        while not self._events.empty():
            self._events.get_nowait()


def card_of(event: Event) -> dict[str, Any] | None:
    """The Adaptive Card in a message event, if it has one."""
    for attachment in event.get("message", {}).get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            content = attachment.get("content")
            return json.loads(content) if isinstance(content, str) else content
    return None


def card_text(card: dict[str, Any]) -> str:
    """All text of *card*, for assertions."""
    return json.dumps(card, ensure_ascii=False)
