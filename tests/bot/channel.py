"""A stand-in for the Bot Framework channel's token service, for authentication tests.

It serves OpenID metadata and a JWKS on 127.0.0.1 from a thread (botbuilder fetches them with
blocking `requests` calls from inside the event loop, so an in-loop server would deadlock), and
mints channel tokens signed with its key, or with any other key for forgery tests.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeChannelTokens:
    """OpenID metadata + keys on a free loopback port; start() before use, stop() after."""

    def __init__(self) -> None:
        self.key = new_key()
        self.kid = uuid.uuid4().hex
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def metadata_url(self) -> str:
        assert self._server is not None
        return (
            f"http://127.0.0.1:{self._server.server_address[1]}/v1/.well-known/openidconfiguration"
        )

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                port = owner._server.server_address[1] if owner._server else 0
                if self.path == "/v1/.well-known/openidconfiguration":
                    body: Any = {
                        "issuer": ISSUER,
                        "authorization_endpoint": "https://invalid.botframework.com",
                        "jwks_uri": f"http://127.0.0.1:{port}/v1/.well-known/keys",
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                    }
                elif self.path == "/v1/.well-known/keys":
                    jwk = json.loads(RSAAlgorithm.to_jwk(owner.key.public_key()))
                    jwk.update({"kid": owner.kid, "use": "sig", "endorsements": ["msteams"]})
                    body = {"keys": [jwk]}
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

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
