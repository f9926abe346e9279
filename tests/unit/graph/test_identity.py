"""The Graph token schemes with a stand-in for msal's client objects (no network, no threads
left behind). The real msal against the fake tenant is in tests/integration/graph."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bot.config import Settings
from bot.domain.errors import DirectoryAccessDenied, DirectoryUnavailable
from bot.graph.client import GraphClient
from bot.identity import (
    ClientCertificate,
    GraphTokenAuth,
    ManagedIdentityAuth,
    MsalClientCredentialsAuth,
    StaticTokenAuth,
    build_graph_auth,
)

TENANT = "11111111-1111-1111-1111-111111111111"
CLIENT = "22222222-2222-2222-2222-222222222222"


class FakeMsal:
    """Stands in for msal.ConfidentialClientApplication / ManagedIdentityClient."""

    def __init__(self, results: list[dict[str, Any] | Exception]) -> None:
        self.results = results
        self.built: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.acquired: list[dict[str, Any]] = []
        self.threads: list[int] = []

    def factory(self, *args: Any, **kwargs: Any) -> FakeMsal:
        self.built.append((args, kwargs))
        return self

    def acquire_token_for_client(self, **kwargs: Any) -> dict[str, Any]:
        self.acquired.append(kwargs)
        self.threads.append(threading.get_ident())
        result = self.results[min(len(self.acquired), len(self.results)) - 1]
        if isinstance(result, Exception):
            raise result
        return result


def token(value: str, expires_in: int = 3600) -> dict[str, Any]:
    return {"access_token": value, "token_type": "Bearer", "expires_in": expires_in}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def closing() -> AsyncIterator[Callable[[Any], Any]]:
    """Register AsyncClients and auths to close at the end of the test."""
    things: list[Any] = []
    yield lambda thing: things.append(thing) or thing
    for thing in things:
        if isinstance(thing, httpx.AsyncClient):
            await thing.aclose()
        else:
            thing.close()


def secret_auth(fake: FakeMsal, clock: Clock, **options: Any) -> MsalClientCredentialsAuth:
    options.setdefault("authority", f"https://login.fake.test/{TENANT}")
    return MsalClientCredentialsAuth(
        client_id="app-1",
        client_secret="s3cret",
        app_factory=fake.factory,
        monotonic=clock,
        **options,
    )


def http_with(
    auth: httpx.Auth, handler: Callable[[httpx.Request], httpx.Response]
) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth)


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"auth": request.headers.get("Authorization")})


async def test_the_app_is_built_lazily_with_our_cache_session_and_ca(clock, closing) -> None:
    fake = FakeMsal([token("t1")])
    auth = closing(secret_auth(fake, clock, verify="/etc/sandbox-ca.pem"))
    assert fake.built == []  # msal discovers the authority in its constructor: not at ours
    await auth.token()
    ((client_id,), kwargs) = fake.built[0]
    assert client_id == "app-1"
    assert kwargs["client_credential"] == "s3cret"
    assert kwargs["authority"] == f"https://login.fake.test/{TENANT}"
    assert kwargs["instance_discovery"] is False
    assert kwargs["http_client"].verify == "/etc/sandbox-ca.pem"
    assert isinstance(kwargs["token_cache"], msal.TokenCache)
    assert fake.acquired == [{"scopes": ["https://graph.microsoft.com/.default"]}]


async def test_microsofts_authority_keeps_instance_discovery(clock, closing) -> None:
    fake = FakeMsal([token("t1")])
    auth = closing(
        secret_auth(fake, clock, authority=f"https://login.microsoftonline.com/{TENANT}")
    )
    await auth.token()
    assert fake.built[0][1]["instance_discovery"] is True


async def test_a_token_is_reused_until_shortly_before_it_expires(clock, closing) -> None:
    fake = FakeMsal([token("t1", 3600), token("t2", 3600)])
    auth = closing(secret_auth(fake, clock))
    http = closing(http_with(auth, echo))
    assert (await http.get("https://g.test/a")).json()["auth"] == "Bearer t1"
    clock.now += 3299  # 5 minutes before expiry is still fresh enough
    assert (await http.get("https://g.test/a")).json()["auth"] == "Bearer t1"
    clock.now += 2
    assert (await http.get("https://g.test/a")).json()["auth"] == "Bearer t2"
    assert len(fake.acquired) == 2


async def test_a_short_token_is_refreshed_half_way(clock, closing) -> None:
    fake = FakeMsal([token("t1", 60), token("t2", 60)])
    auth = closing(secret_auth(fake, clock))
    assert await auth.token() == "t1"
    clock.now += 29
    assert await auth.token() == "t1"
    clock.now += 2
    assert await auth.token() == "t2"


async def test_msal_runs_off_the_event_loop_thread(clock, closing) -> None:
    fake = FakeMsal([token("t1")])
    auth = closing(secret_auth(fake, clock))
    await auth.token()
    assert fake.threads[0] != threading.get_ident()


async def test_concurrent_requests_share_one_acquisition(clock, closing) -> None:
    fake = FakeMsal([token("t1")])
    auth = closing(secret_auth(fake, clock))
    http = closing(http_with(auth, echo))
    answers = await asyncio.gather(*(http.get("https://g.test/a") for _ in range(5)))
    assert {a.json()["auth"] for a in answers} == {"Bearer t1"}
    assert len(fake.acquired) == 1


async def test_a_401_forces_one_refresh_and_one_resend(clock, closing) -> None:
    fake = FakeMsal([token("revoked"), token("fresh")])
    auth = closing(secret_auth(fake, clock))
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(401 if seen[-1] == "Bearer revoked" else 200)

    http = closing(http_with(auth, handler))
    assert (await http.get("https://g.test/a")).status_code == 200
    assert seen == ["Bearer revoked", "Bearer fresh"]
    assert len(fake.acquired) == 2


async def test_a_second_401_is_answered_not_looped(clock, closing) -> None:
    fake = FakeMsal([token("t1"), token("t2"), token("t3")])
    auth = closing(secret_auth(fake, clock))
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}})

    http = closing(http_with(auth, handler))
    graph = GraphClient(http, base_url="https://g.test/v1.0")
    with pytest.raises(DirectoryAccessDenied) as caught:
        await graph.get_user("u1")
    assert (calls, len(fake.acquired)) == (2, 2)
    assert caught.value.code == "InvalidAuthenticationToken"


async def test_a_refused_token_is_directory_access_denied_without_secrets(clock, closing) -> None:
    refusal = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: abc\r\n",
        "error_codes": [7000215],
    }
    fake = FakeMsal([refusal])
    auth = closing(secret_auth(fake, clock))
    graph = GraphClient(closing(http_with(auth, echo)), base_url="https://g.test/v1.0")
    with pytest.raises(DirectoryAccessDenied) as caught:
        await graph.get_user("u1")
    assert caught.value.code == "invalid_client"
    assert "AADSTS7000215" in str(caught.value)
    assert "Trace ID" not in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert not await auth.token_available()


async def test_an_unreachable_identity_platform_is_directory_unavailable(clock, closing) -> None:
    fake = FakeMsal([ConnectionError("no route to host")])
    auth = closing(secret_auth(fake, clock))
    with pytest.raises(DirectoryUnavailable) as caught:
        await auth.probe()
    assert caught.value.code == "token_endpoint_unreachable"


async def test_probe_succeeds_with_a_token(clock, closing) -> None:
    auth = closing(secret_auth(FakeMsal([token("t1")]), clock))
    await auth.probe()
    assert await auth.token_available()


def test_the_scheme_refuses_a_synchronous_client() -> None:
    auth = StaticTokenAuth("t")
    with (
        httpx.Client(transport=httpx.MockTransport(echo), auth=auth) as http,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        http.get("https://g.test/a")


async def test_static_token_auth_sets_the_header(closing) -> None:
    http = closing(http_with(StaticTokenAuth("test-token"), echo))
    assert (await http.get("https://g.test/a")).json()["auth"] == "Bearer test-token"


def test_exactly_one_credential_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        MsalClientCredentialsAuth(client_id="a", authority="https://login.fake.test/t")


# Certificates


def write_pem(path: Path, *, with_cert: bool = True, key_first: bool = True) -> tuple[str, str]:
    """Write a key (and a self-signed certificate) to *path*; return their PEM texts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tapbot test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    blocks = [key_pem, cert_pem] if key_first else [cert_pem, key_pem]
    path.write_text("".join(blocks if with_cert else [key_pem]))
    return key_pem.strip(), cert_pem.strip()


def test_a_pem_file_with_key_and_certificate_in_any_order(tmp_path: Path) -> None:
    key_pem, cert_pem = write_pem(tmp_path / "app.pem", key_first=False)
    certificate = ClientCertificate.from_pem_file(tmp_path / "app.pem")
    assert certificate.as_msal_credential() == {
        "private_key": key_pem,
        "public_certificate": cert_pem,
    }
    assert "PRIVATE" not in repr(certificate)
    with_thumbprint = ClientCertificate.from_pem_file(tmp_path / "app.pem", thumbprint="AB12")
    assert with_thumbprint.as_msal_credential() == {"private_key": key_pem, "thumbprint": "AB12"}


def test_a_pem_file_without_key_or_certificate_is_refused(tmp_path: Path) -> None:
    write_pem(tmp_path / "key-only.pem", with_cert=False)
    with pytest.raises(ValueError, match="no certificate"):
        ClientCertificate.from_pem_file(tmp_path / "key-only.pem")
    (tmp_path / "empty.pem").write_text("nothing here")
    with pytest.raises(ValueError, match="no PEM private key"):
        ClientCertificate.from_pem_file(tmp_path / "empty.pem")


async def test_certificate_auth_hands_msal_the_key(tmp_path: Path, clock, closing) -> None:
    key_pem, _ = write_pem(tmp_path / "app.pem")
    fake = FakeMsal([token("t1")])
    auth = closing(
        MsalClientCredentialsAuth(
            client_id="app-1",
            authority=f"https://login.fake.test/{TENANT}",
            certificate=ClientCertificate.from_pem_file(tmp_path / "app.pem", thumbprint="AB12"),
            app_factory=fake.factory,
            monotonic=clock,
        )
    )
    await auth.token()
    assert fake.built[0][1]["client_credential"] == {"private_key": key_pem, "thumbprint": "AB12"}


# Managed identity


@pytest.mark.parametrize(("client_id", "kind"), [("", "SystemAssigned"), ("mi-1", "ClientId")])
async def test_managed_identity_asks_msal_for_graph(
    clock, closing, client_id: str, kind: str
) -> None:
    fake = FakeMsal([token("mi-token")])
    auth = closing(
        ManagedIdentityAuth(client_id=client_id, client_factory=fake.factory, monotonic=clock)
    )
    assert await auth.token() == "mi-token"
    ((identity,), kwargs) = fake.built[0]
    assert identity["ManagedIdentityIdType"] == kind
    assert identity["Id"] == (client_id or None)
    assert isinstance(kwargs["token_cache"], msal.TokenCache)
    assert fake.acquired == [{"resource": "https://graph.microsoft.com"}]


# From settings


def settings(**values: str) -> Settings:
    return Settings.from_env({"GRAPH_TENANT_ID": TENANT} | values)


def test_settings_choose_the_scheme(tmp_path: Path) -> None:
    write_pem(tmp_path / "app.pem")
    (tmp_path / "ca.pem").write_text("ca")
    chosen: list[GraphTokenAuth] = [
        build_graph_auth(settings(GRAPH_CLIENT_ID=CLIENT, GRAPH_CLIENT_SECRET="s")),
        build_graph_auth(
            settings(
                GRAPH_CLIENT_ID=CLIENT,
                GRAPH_CERTIFICATE_PATH=str(tmp_path / "app.pem"),
                GRAPH_CA_BUNDLE=str(tmp_path / "ca.pem"),
                GRAPH_AUTHORITY_HOST="https://login.fake.test",
            )
        ),
        build_graph_auth(settings(GRAPH_USE_MANAGED_IDENTITY="true")),
    ]
    try:
        assert [type(a) for a in chosen] == [
            MsalClientCredentialsAuth,
            MsalClientCredentialsAuth,
            ManagedIdentityAuth,
        ]
        assert chosen[1]._session.verify == str(tmp_path / "ca.pem")
        assert chosen[1]._authority == f"https://login.fake.test/{TENANT}"
    finally:
        for auth in chosen:
            auth.close()


def test_the_configured_ca_bundle_beats_requests_ca_bundle_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import requests

    from bot.identity import _TimeoutSession

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    seen: dict[str, object] = {}

    def send(self: requests.Session, request: object, **kwargs: object) -> requests.Response:
        seen.update(kwargs)
        response = requests.Response()
        response.status_code = 200
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    session = _TimeoutSession(5.0)
    session.verify = "/var/sandbox/ca.pem"
    session.get("https://127.0.0.1:1/x")
    assert seen["verify"] == "/var/sandbox/ca.pem"
    assert seen["timeout"] == 5.0
