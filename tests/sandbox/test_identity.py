"""msal itself gets Graph tokens from the fake identity platform: secret, certificate, managed
identity; wrong credentials are refused in Entra's shape."""

from __future__ import annotations

import asyncio

import httpx
import msal
import pytest
import requests

from bot.domain.errors import DirectoryAccessDenied
from bot.identity import ClientCertificate, ManagedIdentityAuth, MsalClientCredentialsAuth
from sandbox import org
from sandbox.server import FakeTenant
from tests.sandbox.conftest import tls_context


@pytest.fixture(autouse=True)
def _no_requests_ca_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``Session.verify`` when a call
    passes no ``verify`` (msal passes none), so the sandbox CA would be ignored on machines that
    set them. Reported for bot/identity.py; here they are unset."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


async def graph_status(fake: FakeTenant, token: str) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{fake.graph_url}/users/{org.LIAM_ID}", headers={"Authorization": f"Bearer {token}"}
        )
    return response.status_code


async def test_msal_gets_a_token_with_the_client_secret(fake: FakeTenant) -> None:
    auth = MsalClientCredentialsAuth(
        client_id=fake.client_id,
        authority=fake.authority,
        client_secret=fake.client_secret,
        verify=str(fake.ca_cert_path),
    )
    try:
        token = await auth.token()
    finally:
        auth.close()
    assert await graph_status(fake, token) == 200


@pytest.mark.parametrize("with_thumbprint", [False, True])
async def test_msal_gets_a_token_with_the_certificate(
    fake: FakeTenant, with_thumbprint: bool
) -> None:
    certificate = ClientCertificate.from_pem_file(
        fake.cert_path, thumbprint=fake.cert_thumbprint if with_thumbprint else ""
    )
    auth = MsalClientCredentialsAuth(
        client_id=fake.client_id,
        authority=fake.authority,
        certificate=certificate,
        verify=str(fake.ca_cert_path),
    )
    try:
        token = await auth.token()
    finally:
        auth.close()
    assert await graph_status(fake, token) == 200


def _msal_token(fake: FakeTenant, credential: object) -> dict:
    """msal's own result (blocking: msal discovers the authority in its constructor)."""
    session = requests.Session()
    session.verify = str(fake.ca_cert_path)
    app = msal.ConfidentialClientApplication(
        fake.client_id,
        client_credential=credential,
        authority=fake.authority,
        http_client=session,
        instance_discovery=False,
    )
    result: dict = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    session.close()
    return result


async def test_a_wrong_secret_is_refused_as_entra_does(fake: FakeTenant) -> None:
    result = await asyncio.to_thread(_msal_token, fake, "wrong")
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215")
    auth = MsalClientCredentialsAuth(
        client_id="not-our-app",
        authority=fake.authority,
        client_secret="x",
        verify=str(fake.ca_cert_path),
    )
    with pytest.raises(DirectoryAccessDenied, match="unauthorized_client"):
        await auth.token()
    auth.close()


async def test_an_assertion_signed_by_another_key_is_refused(fake: FakeTenant, tmp_path) -> None:
    from sandbox.pki import create_pki

    other = create_pki(tmp_path / "other")
    credential = ClientCertificate.from_pem_file(other.client_pem_path).as_msal_credential()
    result = await asyncio.to_thread(_msal_token, fake, credential)
    assert result["error"] == "invalid_client"


async def test_token_endpoint_is_https_with_the_sandbox_ca(fake: FakeTenant) -> None:
    async with httpx.AsyncClient(verify=tls_context(fake)) as client:
        discovery = await client.get(f"{fake.authority}/v2.0/.well-known/openid-configuration")
    assert discovery.json()["token_endpoint"] == f"{fake.authority}/oauth2/v2.0/token"
    async with httpx.AsyncClient() as client:  # system CAs do not know the sandbox's
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{fake.authority}/v2.0/.well-known/openid-configuration")


async def test_managed_identity_through_msal(
    fake: FakeTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", fake.msi_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", fake.msi_header)
    auth = ManagedIdentityAuth()
    try:
        token = await auth.token()
    finally:
        auth.close()
    assert await graph_status(fake, token) == 200
    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    refused = ManagedIdentityAuth()
    with pytest.raises(DirectoryAccessDenied):
        await refused.token()
    refused.close()
