"""DPoP-bound Okta tokens (RFC 9449), against the fake Okta that requires them like Okta does."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from models import Integration
from services.okta import dpop
from services.okta.client import OktaClient
from services.okta.connection import client_for, credential_of
from services.okta.credentials import OAuthCredential
from services.okta.errors import OktaTokenError
from services.okta.org_settings import configure_okta
from services.okta.tokens import clear_token_cache
from services.platform import key_rotation
from services.platform.settings import encryptor
from testkit.fakes.okta import FakeOkta

# The tests at the bottom need the app (an integration, migrations); the client tests do not.


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def fake() -> Iterator[FakeOkta]:
    with FakeOkta() as okta:
        yield okta


@pytest.fixture
def group_id(fake: FakeOkta) -> str:
    return fake.add_group("Passwordless users")


@pytest.fixture
def dpop_app(fake: FakeOkta) -> OAuthCredential:
    """A service app with "Require DPoP" on, and its credential with a DPoP key."""
    client_id, pem = fake.add_oauth_client()
    fake.dpop_clients.add(client_id)
    return OAuthCredential(client_id, pem, dpop_key=dpop.generate_key())


@pytest.fixture
def make_client(fake: FakeOkta) -> Iterator[Callable[[OAuthCredential], OktaClient]]:
    clients: list[OktaClient] = []

    def make(credential: OAuthCredential) -> OktaClient:
        client = OktaClient(fake.url, credential, verify=fake.ca_path)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _claims(proof: str) -> dict[str, Any]:
    part = proof.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _token_requests(fake: FakeOkta) -> list[Any]:
    return [r for r in fake.requests_log if r.path == "/oauth2/v1/token"]


def test_a_dpop_app_gets_a_bound_token_after_okta_asks_for_a_proof_and_then_its_nonce(
    fake: FakeOkta, make_client: Callable[..., OktaClient], dpop_app: OAuthCredential, group_id
) -> None:
    group = make_client(dpop_app).get_group(group_id)

    assert group["id"] == group_id
    token_requests = _token_requests(fake)
    # Okta's sequence: no proof → invalid_dpop_proof; proof → use_dpop_nonce; proof + nonce → 200.
    assert [r.headers.get("DPoP") is not None for r in token_requests] == [False, True, True]
    assert "nonce" not in _claims(token_requests[1].headers["DPoP"])
    assert _claims(token_requests[2].headers["DPoP"])["nonce"] == fake.dpop_nonce
    (issued,) = fake.access_tokens.values()
    assert issued.jkt == dpop.DPoPKey.from_json(dpop_app.dpop_key or "").thumbprint
    assert fake.dpop_rejections == ["The DPoP proof JWT header is missing."]


def test_every_api_call_sends_the_dpop_scheme_and_a_fresh_proof_bound_to_the_token(
    fake: FakeOkta, make_client: Callable[..., OktaClient], dpop_app: OAuthCredential, group_id
) -> None:
    user_id = fake.add_user("ada@example.com")
    client = make_client(dpop_app)
    client.add_user_to_group(group_id, user_id)
    assert list(client.group_member_ids(group_id)) == [user_id]

    (token,) = fake.access_tokens
    ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
    calls = fake.api_requests
    assert [r.headers["Authorization"] for r in calls] == [f"DPoP {token}"] * 2
    proofs = [_claims(r.headers["DPoP"]) for r in calls]
    assert [(p["htm"], p["htu"], p["ath"]) for p in proofs] == [
        ("PUT", f"{fake.url}/api/v1/groups/{group_id}/users/{user_id}", ath),
        ("GET", f"{fake.url}/api/v1/groups/{group_id}/users", ath),  # no query in htu
    ]
    assert "?" in calls[1].path
    assert proofs[0]["jti"] != proofs[1]["jti"]
    assert user_id in fake.groups[group_id].members


def test_a_later_token_request_sends_the_proof_and_known_nonce_at_once(
    fake: FakeOkta, make_client: Callable[..., OktaClient], dpop_app: OAuthCredential, group_id
) -> None:
    client = make_client(dpop_app)
    client.get_group(group_id)
    fake.revoke_access_tokens()  # the next call gets a 401 and fetches a new token

    client.get_group(group_id)

    assert len(_token_requests(fake)) == 4  # three for the first token, one for the second
    assert _claims(_token_requests(fake)[-1].headers["DPoP"])["nonce"] == fake.dpop_nonce


def test_a_rotated_nonce_is_picked_up_from_okta_and_the_request_repeated(
    fake: FakeOkta, make_client: Callable[..., OktaClient], dpop_app: OAuthCredential, group_id
) -> None:
    client = make_client(dpop_app)
    client.get_group(group_id)
    stale = fake.dpop_nonce
    fake.rotate_dpop_nonce()
    fake.revoke_access_tokens()

    assert client.get_group(group_id)["id"] == group_id

    second_token = _token_requests(fake)[3:]
    assert [_claims(r.headers["DPoP"])["nonce"] for r in second_token] == [stale, fake.dpop_nonce]


def test_an_api_that_wants_a_nonce_gets_the_call_repeated_with_it(
    fake: FakeOkta, make_client: Callable[..., OktaClient], dpop_app: OAuthCredential, group_id
) -> None:
    fake.dpop_api_nonce = "api-nonce-1"
    client = make_client(dpop_app)

    assert client.get_group(group_id)["id"] == group_id
    assert client.get_group(group_id)["id"] == group_id

    nonces = [_claims(r.headers["DPoP"]).get("nonce") for r in fake.api_requests]
    # The first call learns the nonce from Okta's 401; the next calls carry it from the start.
    assert nonces == [None, "api-nonce-1", "api-nonce-1"]


def test_an_app_without_dpop_keeps_bearer_tokens_even_with_a_dpop_key(
    fake: FakeOkta, make_client: Callable[..., OktaClient], group_id
) -> None:
    client_id, pem = fake.add_oauth_client()
    client = make_client(OAuthCredential(client_id, pem, dpop_key=dpop.generate_key()))

    client.get_group(group_id)

    (token_request,) = _token_requests(fake)
    assert "DPoP" not in token_request.headers
    (call,) = fake.api_requests
    assert call.headers["Authorization"].startswith("Bearer ")
    assert "DPoP" not in call.headers


def test_a_dpop_app_without_a_dpop_key_names_the_fix(
    fake: FakeOkta, make_client: Callable[..., OktaClient], dpop_app: OAuthCredential, group_id
) -> None:
    keyless = OAuthCredential(dpop_app.client_id, dpop_app.private_key)

    with pytest.raises(OktaTokenError, match="no DPoP key") as raised:
        make_client(keyless).get_group(group_id)

    assert raised.value.error_code == "invalid_dpop_proof"
    assert fake.api_requests == []


def test_a_proof_okta_refuses_is_reported_with_okta_s_reason(
    fake: FakeOkta, make_client: Callable[..., OktaClient], dpop_app: OAuthCredential, group_id
) -> None:
    fake.fail_next(
        3,
        400,
        body={"error": "invalid_dpop_proof", "error_description": "The DPoP proof is too old."},
        token_endpoint=True,
    )

    with pytest.raises(OktaTokenError, match="The DPoP proof is too old") as raised:
        make_client(dpop_app).get_group(group_id)

    assert "turn off" not in str(raised.value)
    assert len(_token_requests(fake)) == 2  # without a proof, then with one: no endless loop


def test_the_credential_repr_and_errors_never_show_the_dpop_key(
    dpop_app: OAuthCredential,
) -> None:
    private_d = json.loads(dpop_app.dpop_key or "")["d"]

    assert private_d not in repr(dpop_app)
    assert private_d not in repr(dpop.DPoPKey.from_json(dpop_app.dpop_key or ""))


# --- The integration's key ----------------------------------------------------------------------


@pytest.fixture
def dpop_integration(app, fake: FakeOkta, integration, group_id) -> Integration:
    app.config["OKTA_ALLOWED_HOSTS"] = [fake.host]
    app.config["OKTA_CA_BUNDLE"] = fake.ca_path
    client_id, pem = fake.add_oauth_client()
    fake.dpop_clients.add(client_id)
    return configure_okta(
        integration, org_url=fake.url, group=group_id, client_id=client_id, private_key=pem
    )


def test_saving_a_service_app_makes_an_encrypted_dpop_key_that_okta_then_accepts(
    fake: FakeOkta, dpop_integration: Integration, group_id
) -> None:
    stored = Integration.get_by_id(dpop_integration.id)
    key = encryptor().decrypt(stored.okta_dpop_key)
    assert json.loads(key)["d"] not in stored.okta_dpop_key  # encrypted at rest

    assert client_for(stored).get_group(group_id)["id"] == group_id
    (issued,) = fake.access_tokens.values()
    assert issued.jkt == dpop.DPoPKey.from_json(key).thumbprint


def test_a_new_credential_gets_a_new_key_and_an_api_token_drops_it(
    fake: FakeOkta, dpop_integration: Integration
) -> None:
    first = credential_of(Integration.get_by_id(dpop_integration.id))
    client_id, pem = fake.add_oauth_client()
    configure_okta(dpop_integration, client_id=client_id, private_key=pem)
    second = credential_of(Integration.get_by_id(dpop_integration.id))
    assert isinstance(first, OAuthCredential) and isinstance(second, OAuthCredential)
    assert first.dpop_key != second.dpop_key

    configure_okta(dpop_integration, api_token="00aSomeApiToken")
    assert Integration.get_by_id(dpop_integration.id).okta_dpop_key is None


def test_a_service_app_saved_before_dpop_support_gets_one_key_on_first_use(
    dpop_integration: Integration, group_id
) -> None:
    Integration.update(okta_dpop_key=None).where(Integration.id == dpop_integration.id).execute()

    first = credential_of(Integration.get_by_id(dpop_integration.id))
    second = credential_of(Integration.get_by_id(dpop_integration.id))

    assert isinstance(first, OAuthCredential) and first.dpop_key
    assert isinstance(second, OAuthCredential) and second.dpop_key == first.dpop_key
    assert client_for(Integration.get_by_id(dpop_integration.id)).get_group(group_id)


def test_key_rotation_reencrypts_the_dpop_key(app, dpop_integration: Integration) -> None:
    before = Integration.get_by_id(dpop_integration.id)
    plain = encryptor().decrypt(before.okta_dpop_key)
    app.config["ENCRYPTION_KEYS"] = [
        Fernet.generate_key().decode(),
        *app.config["ENCRYPTION_KEYS"],
    ]

    key_rotation.reencrypt_all()

    after = Integration.get_by_id(dpop_integration.id)
    assert after.okta_dpop_key != before.okta_dpop_key
    assert encryptor().decrypt(after.okta_dpop_key) == plain
