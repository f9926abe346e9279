"""The app's own identity towards Microsoft Graph: access tokens as an `httpx.Auth`.

Three schemes share one behaviour (`GraphTokenAuth`):

- `MsalClientCredentialsAuth`: an Entra app registration with a client secret or a certificate;
- `ManagedIdentityAuth`: the Azure resource's system- or user-assigned managed identity;
- `StaticTokenAuth`: a fixed token, for tests.

Each attaches ``Authorization: Bearer …`` to every request, keeps the token until shortly before
it expires, and answers a 401 by fetching a fresh token once and resending. msal is blocking, so
its calls run in a worker thread. A token that cannot be had raises a `DirectoryError`
(`DirectoryAccessDenied` when the identity platform refused, `DirectoryUnavailable` when it could
not be reached), so callers see the same errors as for Graph itself. Nothing here logs a token.
"""

from __future__ import annotations

import abc
import asyncio
import re
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msal
import requests

from bot.config import GRAPH_SCOPE_RESOURCE, Settings
from bot.domain.errors import DirectoryAccessDenied, DirectoryError, DirectoryUnavailable

GRAPH_SCOPE = f"{GRAPH_SCOPE_RESOURCE}/.default"
# Hosts msal knows without asking login.microsoftonline.com (msal.authority's list, by value).
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login-us.microsoftonline.com",
        "login.microsoftonline.us",
        "login.usgovcloudapi.net",
    }
)
_PEM_BLOCK = re.compile(r"-----BEGIN (?P<kind>[A-Z ]+)-----\s.*?-----END (?P=kind)-----", re.DOTALL)


class GraphTokenAuth(httpx.Auth, abc.ABC):
    """An app-only bearer token for Graph, cached until *refresh_margin* seconds before expiry.

    Subclasses implement `_acquire`, a blocking call returning msal's result dict. Concurrent
    requests share one acquisition (a lock); after a 401 only the first request to notice
    forces a refresh, the others pick up the new token.
    """

    def __init__(
        self, *, refresh_margin: float = 300.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._refresh_margin = refresh_margin
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._fresh_until = 0.0

    @abc.abstractmethod
    def _acquire(self, *, force_refresh: bool) -> Mapping[str, Any]:
        """Return msal's result for a Graph token (blocking; runs in a worker thread)."""

    def close(self) -> None:
        """Release the HTTP session msal uses, if any. Idempotent."""

    async def token(self, *, refused: str | None = None) -> str:
        """Return a valid access token; fetch a new one if *refused* is the one we hold.

        Raises DirectoryAccessDenied or DirectoryUnavailable when no token can be had.
        """
        async with self._lock:
            usable = self._token is not None and self._monotonic() < self._fresh_until
            if usable and self._token != refused:
                assert self._token is not None
                return self._token
            force = refused is not None and refused == self._token
            result = await asyncio.to_thread(self._acquire_checked, force)
            self._token, lifetime = result
            # Refresh ahead of expiry, but never sooner than half-way through a short token.
            margin = min(self._refresh_margin, lifetime / 2)
            self._fresh_until = self._monotonic() + lifetime - margin
            return self._token

    def _acquire_checked(self, force: bool) -> tuple[str, float]:
        try:
            result = self._acquire(force_refresh=force)
        except DirectoryError:
            raise
        except Exception as exc:  # msal raises requests' and its own errors; all mean "no token"
            raise DirectoryUnavailable(
                f"the identity platform could not be reached ({type(exc).__name__})",
                code="token_endpoint_unreachable",
            ) from exc
        token = result.get("access_token")
        if not isinstance(token, str) or not token:
            error = str(result.get("error") or "no_token")
            # The description's first line names the AADSTS code; later lines are trace ids.
            description = str(result.get("error_description") or "").splitlines()[:1]
            raise DirectoryAccessDenied(
                f"the identity platform refused a Graph token: {error}"
                + (f": {description[0]}" if description else ""),
                code=error,
            )
        return token, float(result.get("expires_in") or 0)

    async def probe(self) -> None:
        """Fail (DirectoryError) unless a Graph token can be had; for the health endpoint."""
        await self.token()

    async def token_available(self) -> bool:
        """Tell whether a Graph token can be had right now."""
        try:
            await self.probe()
        except DirectoryError:
            return False
        return True

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # Revoked or rotated credentials: one fresh token, one retry; a second 401 stands.
            token = await self.token(refused=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError(f"{type(self).__name__} works only with httpx.AsyncClient")


class StaticTokenAuth(GraphTokenAuth):
    """A fixed bearer token (tests, and the sandbox's fake tenant when it accepts any)."""

    def __init__(self, token: str, *, expires_in: float = 3600.0) -> None:
        super().__init__()
        self._static = token
        self._expires_in = expires_in

    def _acquire(self, *, force_refresh: bool) -> Mapping[str, Any]:
        return {"access_token": self._static, "expires_in": self._expires_in}


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout (msal's managed-identity calls set none) and
    a CA setting that the environment cannot override."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's own `verify`
        # unless it is passed per request; GRAPH_CA_BUNDLE must win.
        kwargs.setdefault("verify", self.verify)
        return super().request(*args, **kwargs)


class _MsalAuth(GraphTokenAuth):
    """What both msal schemes share: our own token cache and HTTP session, closed by `close`."""

    def __init__(self, *, timeout: float, verify: str | bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cache = msal.TokenCache()
        self._session = _TimeoutSession(timeout)
        self._session.verify = verify
        self._client: Any = None

    @abc.abstractmethod
    def _build_client(self) -> Any:
        """Return the msal client; called lazily, in the worker thread (msal does I/O here)."""

    @abc.abstractmethod
    def _acquire_with(self, client: Any) -> Mapping[str, Any]: ...

    def _acquire(self, *, force_refresh: bool) -> Mapping[str, Any]:
        if self._client is None:
            self._client = self._build_client()
        if force_refresh:
            # msal answers from its cache first; Graph just refused that token, so drop it.
            for entry in list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                self._cache.remove_at(entry)
        result: Mapping[str, Any] = self._acquire_with(self._client)
        return result

    def close(self) -> None:
        self._session.close()


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """A certificate credential: the PEM private key and either its thumbprint or the PEM
    certificate (msal then derives the SHA-256 thumbprint and sends the chain as ``x5c``)."""

    private_key_pem: str
    thumbprint: str = ""
    certificate_pem: str = ""

    @classmethod
    def from_pem_file(cls, path: Path, *, thumbprint: str = "") -> ClientCertificate:
        """Read a PEM file holding the private key and the certificate (in any order)."""
        text = path.read_text("ascii")
        key = cert = ""
        for block in _PEM_BLOCK.finditer(text):
            kind = block.group("kind")
            if kind.endswith("PRIVATE KEY") and not key:
                key = block.group(0)
            elif kind == "CERTIFICATE" and not cert:
                cert = block.group(0)
        if not key:
            raise ValueError(f"{path} holds no PEM private key")
        if not (cert or thumbprint):
            raise ValueError(f"{path} holds no certificate and no thumbprint was given")
        return cls(private_key_pem=key, thumbprint=thumbprint, certificate_pem=cert)

    def as_msal_credential(self) -> dict[str, str]:
        if self.thumbprint:
            # Entra shows the SHA-1 thumbprint; msal then signs with RS256 and an x5t header.
            return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}
        return {"private_key": self.private_key_pem, "public_certificate": self.certificate_pem}

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint={self.thumbprint!r}, private_key=***)"


class MsalClientCredentialsAuth(_MsalAuth):
    """Client-credentials tokens for an Entra app, with a client secret or a certificate.

    *authority* is ``https://<host>/<tenant id>``. *verify* is a CA bundle path for a private
    authority (the sandbox's), or True. Instance discovery (a call to login.microsoftonline.com)
    is turned off when the authority's host is not one of Microsoft's, since such a host is not
    in Microsoft's instance list. *app_factory* stands in for msal.ConfidentialClientApplication
    in tests.
    """

    def __init__(
        self,
        *,
        client_id: str,
        authority: str,
        client_secret: str = "",
        certificate: ClientCertificate | None = None,
        scopes: tuple[str, ...] = (GRAPH_SCOPE,),
        verify: str | bool = True,
        timeout: float = 10.0,
        app_factory: Callable[..., Any] | None = None,
        refresh_margin: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if bool(client_secret) == (certificate is not None):
            raise ValueError("give exactly one of client_secret and certificate")
        super().__init__(
            timeout=timeout, verify=verify, refresh_margin=refresh_margin, monotonic=monotonic
        )
        self._client_id = client_id
        self._authority = authority
        self._credential: str | dict[str, str] = (
            certificate.as_msal_credential() if certificate is not None else client_secret
        )
        self._scopes = list(scopes)
        self._timeout = timeout
        self._app_factory = app_factory or msal.ConfidentialClientApplication

    def _build_client(self) -> Any:
        host = (urlsplit(self._authority).hostname or "").lower()
        return self._app_factory(
            self._client_id,
            client_credential=self._credential,
            authority=self._authority,
            token_cache=self._cache,
            http_client=self._session,
            timeout=self._timeout,
            instance_discovery=host in MICROSOFT_AUTHORITY_HOSTS,
        )

    def _acquire_with(self, client: Any) -> Mapping[str, Any]:
        result: Mapping[str, Any] = client.acquire_token_for_client(scopes=self._scopes)
        return result

    def __repr__(self) -> str:
        return f"MsalClientCredentialsAuth(client_id={self._client_id!r}, authority=…)"


class ManagedIdentityAuth(_MsalAuth):
    """Tokens for the Azure resource's managed identity: system-assigned, or the user-assigned
    one whose *client_id* is given. msal finds the endpoint from the environment
    (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` on App Service, IMDS on a VM)."""

    def __init__(
        self,
        *,
        client_id: str = "",
        resource: str = GRAPH_SCOPE_RESOURCE,
        timeout: float = 10.0,
        client_factory: Callable[..., Any] | None = None,
        refresh_margin: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            timeout=timeout, verify=True, refresh_margin=refresh_margin, monotonic=monotonic
        )
        self._mi_client_id = client_id
        self._resource = resource
        self._client_factory = client_factory or msal.ManagedIdentityClient

    def _build_client(self) -> Any:
        identity: Any = (
            msal.UserAssignedManagedIdentity(client_id=self._mi_client_id)
            if self._mi_client_id
            else msal.SystemAssignedManagedIdentity()
        )
        return self._client_factory(identity, http_client=self._session, token_cache=self._cache)

    def _acquire_with(self, client: Any) -> Mapping[str, Any]:
        result: Mapping[str, Any] = client.acquire_token_for_client(resource=self._resource)
        return result


def build_graph_auth(settings: Settings) -> GraphTokenAuth:
    """Return the auth scheme *settings* configure (managed identity, certificate or secret)."""
    kind = settings.graph_identity
    if kind == "managed_identity":
        return ManagedIdentityAuth(client_id=settings.graph_managed_identity_client_id)
    verify: str | bool = str(settings.graph_ca_bundle) if settings.graph_ca_bundle else True
    certificate = None
    if kind == "certificate":
        assert settings.graph_certificate_path is not None
        certificate = ClientCertificate.from_pem_file(
            settings.graph_certificate_path, thumbprint=settings.graph_certificate_thumbprint
        )
    return MsalClientCredentialsAuth(
        client_id=settings.graph_client_id,
        authority=settings.authority,
        client_secret=settings.graph_client_secret if certificate is None else "",
        certificate=certificate,
        verify=verify,
    )
