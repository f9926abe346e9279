"""The fake identity platform: OpenID discovery, the v2 token endpoint, the App Service
managed-identity endpoint, and `TokenIssuer`, which mints and checks the Graph tokens.

msal talks to these for real (facts §9.3, §9.4): discovery at
``/{tenant}/v2.0/.well-known/openid-configuration``; ``client_credentials`` at
``/{tenant}/oauth2/v2.0/token`` with a client secret (form field or HTTP Basic) or a signed
client assertion (RS256 with an ``x5t`` header or PS256 with ``x5t#S256``), checked against the
sandbox's client certificate; and ``GET /msi/token`` with ``X-IDENTITY-HEADER``. Errors use
Entra's shapes (``error``, ``error_description`` starting with the AADSTS code).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sandbox.tenant import GraphError

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_SCOPES = {f"{GRAPH_RESOURCE}/.default", f"{GRAPH_APP_ID}/.default"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenIssuer:
    """Mints app-only Graph tokens (JWTs signed with a per-run key) and checks bearer headers.

    Only tokens this issuer minted, not expired and not revoked, pass `check`.
    """

    def __init__(self, tenant_id: str, *, lifetime: timedelta = timedelta(seconds=3599)) -> None:
        self.tenant_id = tenant_id
        self.lifetime = lifetime
        self._key = secrets.token_bytes(32)
        self._revoked: set[str] = set()
        self.issued = 0

    def issue(self, app_id: str, roles: Iterable[str], *, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "appid": app_id,
            "oid": app_id,
            "tid": self.tenant_id,
            "idtyp": "app",
            "roles": sorted(roles),
            "jti": str(uuid.uuid4()),
        }
        self.issued += 1
        return jwt.encode(claims, self._key, algorithm="HS256")

    def issue_for_user(
        self, user_id: str, scopes: Iterable[str], *, client_id: str, now: datetime | None = None
    ) -> str:
        """A delegated token: *client_id* acting for the person *user_id* with *scopes*."""
        now = now or datetime.now(UTC)
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "appid": client_id,
            "oid": user_id,
            "tid": self.tenant_id,
            "idtyp": "user",
            "scp": " ".join(sorted(scopes)),
            "jti": str(uuid.uuid4()),
        }
        self.issued += 1
        return jwt.encode(claims, self._key, algorithm="HS256")

    def revoke_all(self, token: str | None = None) -> None:
        """Revoke *token*, or every token issued so far (by rotating the key)."""
        if token is not None:
            self._revoked.add(token)
        else:
            self._key = secrets.token_bytes(32)

    def check(self, authorization: str | None) -> dict[str, Any]:
        """Return the claims of ``Authorization: Bearer …``; GraphError 401 otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthenticated("Access token is empty.")
        if token in self._revoked:
            raise _unauthenticated("Access token validation failure. The token was revoked.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=["HS256"], audience=GRAPH_RESOURCE
            )
        except jwt.ExpiredSignatureError:
            raise _unauthenticated("Lifetime validation failed, the token is expired.") from None
        except jwt.DecodeError:
            raise _unauthenticated(
                "IDX14100: JWT is not well formed, there are no dots (.)."
                if token.count(".") != 2
                else "Access token validation failure. Invalid signature."
            ) from None
        except jwt.InvalidTokenError:
            raise _unauthenticated("Access token validation failure. Invalid audience.") from None
        return claims


def _unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message)


def _aad_error(status: int, error: str, code: int, description: str) -> web.Response:
    now = datetime.now(UTC)
    trace = str(uuid.uuid4())
    return web.json_response(
        {
            "error": error,
            "error_description": (
                f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
                f"Correlation ID: {uuid.uuid4()}\r\nTimestamp: {now:%Y-%m-%d %H:%M:%SZ}"
            ),
            "error_codes": [code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        },
        status=status,
        headers={"Cache-Control": "no-store"},
    )


class TokenRoutes:
    """The identity platform's routes for one tenant, app registration and managed identity."""

    def __init__(
        self,
        issuer: TokenIssuer,
        *,
        client_id: str,
        client_secret: str,
        client_certificate: x509.Certificate,
        roles: Callable[[], Iterable[str]],  # the app's granted permissions, read per token
        msi_client_id: str,
        msi_header: str,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.certificate = client_certificate
        self.roles = roles
        self.msi_client_id = msi_client_id
        self.msi_header = msi_header
        sha1 = client_certificate.fingerprint(hashes.SHA1())  # noqa: S303  # x5t is SHA-1
        sha256 = client_certificate.fingerprint(hashes.SHA256())
        self._x5t = {_b64url(sha1), _b64url(sha256)}

    def add_to(self, app: web.Application) -> None:
        app.router.add_get(
            "/{tenant}/v2.0/.well-known/openid-configuration", self.discovery, name="discovery"
        )
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token, name="token")
        app.router.add_get("/msi/token", self.msi_token, name="msi_token")
        app.router.add_post("/_sandbox/token", self.sandbox_token)

    async def sandbox_token(self, request: web.Request) -> web.Response:
        """A sandbox control (no credentials: loopback only): a Graph token for a person,
        ``{"userId", "scopes"?}`` (delegated, default scope User.ReadWrite.All), or for another
        app, ``{"appId", "roles"}``: to change the directory as a person or an HR app would."""
        try:
            spec = await request.json()
        except ValueError:
            spec = None
        if isinstance(spec, dict) and isinstance(spec.get("userId"), str):
            scopes = spec.get("scopes", ["User.ReadWrite.All"])
            if not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes):
                return web.json_response({"error": "scopes must be a list of names"}, status=400)
            token = self.issuer.issue_for_user(spec["userId"], scopes, client_id=self.client_id)
        elif isinstance(spec, dict) and isinstance(spec.get("appId"), str):
            roles = spec.get("roles", [])
            if not isinstance(roles, list) or not all(isinstance(x, str) for x in roles):
                return web.json_response({"error": "roles must be a list of names"}, status=400)
            token = self.issuer.issue(spec["appId"], roles)
        else:
            return web.json_response(
                {"error": 'expected {"userId"} or {"appId", "roles"}'}, status=400
            )
        return web.json_response({"access_token": token, "token_type": "Bearer"})

    def _tenant_ok(self, request: web.Request) -> bool:
        return request.match_info["tenant"] in (self.issuer.tenant_id, "organizations")

    async def discovery(self, request: web.Request) -> web.Response:
        if not self._tenant_ok(request):
            return _aad_error(
                400, "invalid_tenant", 90002, f"Tenant '{request.match_info['tenant']}' not found."
            )
        base = f"{request.url.origin()}/{self.issuer.tenant_id}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "EU",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        if not self._tenant_ok(request):
            return _aad_error(
                400, "invalid_request", 90002, f"Tenant '{request.match_info['tenant']}' not found."
            )
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        basic = _basic_credentials(request.headers.get("Authorization"))
        if basic is not None:
            client_id, secret = client_id or basic[0], secret or basic[1]
        if grant != "client_credentials":
            return _aad_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        if client_id != self.client_id:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.issuer.tenant_id}'.",
            )
        scope = str(form.get("scope", ""))
        if set(scope.split()) - GRAPH_SCOPES or not scope:
            return _aad_error(
                400,
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. The scope "
                f"{scope} is not valid.",
            )
        assertion = str(form.get("client_assertion", ""))
        if assertion:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                return _aad_error(400, "invalid_request", 50027, "Invalid client_assertion_type.")
            endpoint = str(request.url.with_query(None))
            problem = self._assertion_problem(assertion, endpoint)
            if problem:
                return _aad_error(401, "invalid_client", 700027, problem)
        elif not secret:
            return _aad_error(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.",
            )
        elif not secrets.compare_digest(secret.encode(), self.client_secret.encode()):
            return _aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{self.client_id}'.",
            )
        expires = int(self.issuer.lifetime.total_seconds())
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": expires,
                "ext_expires_in": expires,
                "access_token": self.issuer.issue(self.client_id, self.roles()),
            },
            headers={"Cache-Control": "no-store"},
        )

    def _assertion_problem(self, assertion: str, endpoint: str) -> str:
        """Why the client assertion is not acceptable, or ``""``."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            return "Client assertion is not a well-formed JWT."
        thumbprint = str(header.get("x5t#S256") or header.get("x5t") or "")
        if thumbprint.rstrip("=") not in self._x5t:
            return (
                f"Client assertion contains an invalid signature. [Reason - The key was not "
                f"found., Thumbprint of key used by client: '{thumbprint}']"
            )
        try:
            claims = jwt.decode(
                assertion,
                self.certificate.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=endpoint,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.InvalidAudienceError:
            return f"The audience of the client assertion is not '{endpoint}'."
        except jwt.InvalidTokenError as exc:
            return f"Client assertion failed signature validation. ({type(exc).__name__})"
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "The issuer and subject of the client assertion must be the client id."
        return ""

    async def msi_token(self, request: web.Request) -> web.Response:
        """App Service's identity endpoint: ``expires_on`` in epoch seconds (facts §9.4)."""
        if not secrets.compare_digest(
            request.headers.get("X-IDENTITY-HEADER", "").encode(), self.msi_header.encode()
        ):
            return web.json_response(
                {
                    "statusCode": 401,
                    "message": "Unauthorized: X-IDENTITY-HEADER is missing or wrong.",
                },
                status=401,
            )
        resource = request.query.get("resource", "")
        if resource.removesuffix("/") not in (GRAPH_RESOURCE, GRAPH_APP_ID):
            return web.json_response(
                {"statusCode": 400, "message": f"Unsupported resource '{resource}'."}, status=400
            )
        wanted = request.query.get("client_id")
        if wanted is not None and wanted != self.msi_client_id:
            return web.json_response(
                {"statusCode": 400, "message": "No managed identity with this client id."},
                status=400,
            )
        now = datetime.now(UTC)
        return web.json_response(
            {
                "access_token": self.issuer.issue(self.msi_client_id, self.roles(), now=now),
                "expires_on": str(int((now + self.issuer.lifetime).timestamp())),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.msi_client_id,
            }
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
