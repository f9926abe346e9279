"""Assemble the Graph-backed ports from the settings, for the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.domain.ports import Clock, Directory, Mailer, PassIssuer
from bot.graph.adapters import GraphDirectory, GraphMailer, GraphPassIssuer
from bot.graph.client import GraphClient
from bot.identity import GraphTokenAuth, build_graph_auth


@dataclass(frozen=True, slots=True)
class GraphPorts:
    """The Graph-backed ports, the token probe for the health check, and the auth to close."""

    directory: Directory
    pass_issuer: PassIssuer
    mailer: Mailer
    token_probe: Callable[[], Awaitable[None]]
    auth: GraphTokenAuth

    def close(self) -> None:
        """Release the token machinery's HTTP session (the Graph client is the caller's)."""
        self.auth.close()


def build_graph_ports(
    settings: Settings,
    http: httpx.AsyncClient,
    clock: Clock,
    *,
    auth: GraphTokenAuth | None = None,
) -> GraphPorts:
    """Build the ports on *http* (not closed here) with the identity *settings* configure,
    or *auth* when given."""
    the_auth = auth if auth is not None else build_graph_auth(settings)
    client = GraphClient(http, base_url=settings.graph_base_url, auth=the_auth)
    return GraphPorts(
        directory=GraphDirectory(client),
        pass_issuer=GraphPassIssuer(client, clock),
        mailer=GraphMailer(client),
        token_probe=the_auth.probe,
        auth=the_auth,
    )
