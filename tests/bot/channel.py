"""A stand-in for the Bot Framework channel's token service, for authentication tests.

It serves OpenID metadata and a JWKS on 127.0.0.1 (from a thread: botbuilder fetches them with
blocking calls), and mints channel tokens signed with its key, or with any other key for
forgery tests.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.bot.threaded import ThreadedJsonServer

ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeChannelTokens:
    """OpenID metadata + keys on a free loopback port; start() before use, stop() after."""

    def __init__(self, endorsements: tuple[str, ...] = ("msteams",)) -> None:
        """*endorsements*: the channel ids the key signs for (Bot Framework's keys list many)."""
        self.endorsements = list(endorsements)
        self.key = new_key()
        self.kid = uuid.uuid4().hex
        self._server = ThreadedJsonServer(self._answer)

    @property
    def metadata_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/v1/.well-known/openidconfiguration"

    def _answer(self, method: str, path: str, body: Any) -> Any:
        if method != "GET":
            return None
        if path == "/v1/.well-known/openidconfiguration":
            return {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"http://127.0.0.1:{self._server.port}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        if path == "/v1/.well-known/keys":
            jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
            jwk.update({"kid": self.kid, "use": "sig", "endorsements": self.endorsements})
            return {"keys": [jwk]}
        return None

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def token(
        self,
        *,
        audience: str,
        service_url: str,
        lifetime: int = 3600,
        issued_ago: int = 0,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        issuer: str = ISSUER,
    ) -> str:
        """A channel token like Teams sends; override pieces to forge a bad one."""
        now = int(time.time()) - issued_ago
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now,
            "iat": now,
            "exp": now + lifetime,
        }
        return jwt.encode(
            claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )
