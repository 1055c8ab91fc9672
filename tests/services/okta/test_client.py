"""The Okta Management API client, over real sockets against a local fake Okta org."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, RSAKey

from services.okta.admin_input import normalize_org_url, parse_app_ref, parse_group_ref
from services.okta.client import SCOPES, OktaClient
from services.okta.connection_check import ConnectionCheck
from services.okta.credentials import OAuthCredential, SswsCredential
from services.okta.errors import (
    OktaAuthError,
    OktaError,
    OktaNotFoundError,
    OktaRateLimitedError,
    OktaRequestError,
    OktaTokenError,
    OktaUnavailableError,
    RateLimit,
)
from services.okta.tokens import clear_token_cache
from testkit.fakes.okta import FakeOkta

API_TOKEN = "00aSswsSecretToken-DoNotLeak_1234567890abcd"
ADA = "ada.lovelace@example.com"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def okta() -> Iterator[FakeOkta]:
    with FakeOkta() as fake:
        fake.api_tokens.add(API_TOKEN)
        yield fake


@pytest.fixture
def group_id(okta: FakeOkta) -> str:
    return okta.add_group("Passwordless users")


@pytest.fixture
def user_id(okta: FakeOkta) -> str:
    return okta.add_user(ADA)


@pytest.fixture
def make_client(okta: FakeOkta) -> Iterator[Callable[..., OktaClient]]:
    """Build clients against the fake (SSWS by default); all are closed afterwards."""
    clients: list[OktaClient] = []

    def make(credential: Any = None, **kwargs: Any) -> OktaClient:
        kwargs.setdefault("verify", okta.ca_path)
        client = OktaClient(okta.url, credential or SswsCredential(API_TOKEN), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., OktaClient]) -> OktaClient:
    return make_client()


@pytest.fixture
def oauth(okta: FakeOkta) -> OAuthCredential:
    client_id, pem = okta.add_oauth_client()
    return OAuthCredential(client_id, pem)


def _jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


# --- Group membership ---------------------------------------------------------------------------


def test_add_user_to_group_makes_the_user_a_member(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str
) -> None:
    client.add_user_to_group(group_id, user_id)

    assert okta.groups[group_id].members == {user_id}
    (put,) = okta.api_requests
    assert (put.method, put.path) == ("PUT", f"/api/v1/groups/{group_id}/users/{user_id}")


def test_ssws_requests_carry_the_exact_token_json_headers_and_user_agent(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str
) -> None:
    client.add_user_to_group(group_id, user_id)

    (put,) = okta.api_requests
    assert put.headers["Authorization"] == f"SSWS {API_TOKEN}"
    assert put.headers["Accept"] == "application/json"
    assert put.headers["Content-Type"] == "application/json"
    assert put.headers["User-Agent"] == "scim-onboard/1"


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_bodiless_membership_changes_send_content_length_zero(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str, method: str
) -> None:
    if method == "PUT":
        client.add_user_to_group(group_id, user_id)
    else:
        client.remove_user_from_group(group_id, user_id)

    (request,) = okta.api_requests
    assert request.headers["Content-Length"] == "0"
    assert request.body == b""


def test_fake_okta_answers_411_to_a_put_without_content_length(
    okta: FakeOkta, group_id: str, user_id: str
) -> None:
    # Proof that the Content-Length test above can fail: Okta's front end insists on it.
    conn = http.client.HTTPSConnection(
        "localhost", okta.port, context=ssl.create_default_context(cafile=okta.ca_path)
    )
    try:
        conn.putrequest("PUT", f"/api/v1/groups/{group_id}/users/{user_id}")
        conn.putheader("Authorization", f"SSWS {API_TOKEN}")
        conn.endheaders()
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()

    assert response.status == 411
    assert okta.groups[group_id].members == set()


def test_adding_a_user_who_is_already_a_member_succeeds(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str
) -> None:
    client.add_user_to_group(group_id, user_id)
    client.add_user_to_group(group_id, user_id)

    assert okta.groups[group_id].members == {user_id}


def test_a_200_answer_to_the_membership_put_is_accepted(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str
) -> None:
    okta.fail_next(1, 200, body={})

    rate_limit = client.add_user_to_group(group_id, user_id)

    assert rate_limit.limit == 600


def test_remove_user_from_group_ends_the_membership(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str
) -> None:
    okta.groups[group_id].members.add(user_id)

    client.remove_user_from_group(group_id, user_id)

    assert okta.groups[group_id].members == set()
    assert okta.api_requests[-1].method == "DELETE"


def test_removing_a_user_who_is_not_a_member_succeeds(
    client: OktaClient, group_id: str, user_id: str
) -> None:
    assert client.remove_user_from_group(group_id, user_id).remaining is not None


@pytest.mark.parametrize("missing", ["user", "group"])
def test_removing_from_a_user_or_group_okta_no_longer_has_counts_as_done(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str, missing: str
) -> None:
    if missing == "user":
        del okta.users[user_id]
    else:
        del okta.groups[group_id]

    rate_limit = client.remove_user_from_group(group_id, user_id)

    assert okta.api_requests[-1].method == "DELETE"
    assert rate_limit.limit == 600


def test_a_404_without_okta_error_code_on_removal_is_still_an_error(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str
) -> None:
    okta.fail_next(1, 404, body={"message": "no such route"})

    with pytest.raises(OktaNotFoundError):
        client.remove_user_from_group(group_id, user_id)


def test_adding_to_an_app_group_is_refused_with_e0000006(
    okta: FakeOkta, client: OktaClient, user_id: str
) -> None:
    app_group = okta.add_group("AD: Staff", "APP_GROUP")

    with pytest.raises(OktaAuthError) as raised:
        client.add_user_to_group(app_group, user_id)

    assert raised.value.status == 403
    assert raised.value.error_code == "E0000006"


def test_adding_an_unknown_user_raises_not_found_with_okta_error_fields(
    client: OktaClient, group_id: str
) -> None:
    with pytest.raises(OktaNotFoundError) as raised:
        client.add_user_to_group(group_id, "00uNoSuchUser0000000")

    error = raised.value
    assert (error.status, error.error_code) == (404, "E0000007")
    assert error.error_summary is not None and "Not found" in error.error_summary
    assert error.error_id is not None and error.error_id.startswith("oae")


def test_redirects_are_not_followed(okta: FakeOkta, client: OktaClient, group_id: str) -> None:
    okta.fail_next(1, 302, body={}, headers={"Location": "https://elsewhere.example/steal"})

    with pytest.raises(OktaRequestError, match=r"elsewhere\.example"):
        client.get_group(group_id)

    assert len(okta.requests_log) == 1


# --- Reads ------------------------------------------------------------------------------------


def test_get_group_returns_oktas_group_object(client: OktaClient, group_id: str) -> None:
    group = client.get_group(group_id)

    assert group["id"] == group_id
    assert group["type"] == "OKTA_GROUP"
    assert group["profile"]["name"] == "Passwordless users"


def test_get_group_of_an_unknown_id_raises_not_found(client: OktaClient) -> None:
    with pytest.raises(OktaNotFoundError):
        client.get_group("00gUnknownGroup00000")


@pytest.mark.parametrize("login", [ADA, ADA.upper()])
def test_find_user_id_fetches_by_login_case_insensitively(
    okta: FakeOkta, client: OktaClient, user_id: str, login: str
) -> None:
    assert client.find_user_id(login) == user_id
    assert okta.api_requests[-1].path == f"/api/v1/users/{quote(login, safe='')}"


def test_find_user_id_of_an_unknown_login_is_none(client: OktaClient) -> None:
    assert client.find_user_id("nobody@example.com") is None


def test_find_user_id_does_not_accept_a_login_shortname_match(
    client: OktaClient, user_id: str
) -> None:
    # Okta answers GET /users/ada.lovelace with ada.lovelace@example.com; that is not this login.
    assert client.find_user_id("ada.lovelace") is None


def test_find_user_id_searches_by_filter_for_logins_containing_a_slash(
    okta: FakeOkta, client: OktaClient
) -> None:
    slashed = okta.add_user("corp/ada")

    assert client.find_user_id("corp/ada") == slashed
    (search,) = okta.api_requests
    assert search.path.startswith("/api/v1/users?")
    assert _form(search.path.partition("?")[2].encode())["filter"] == 'profile.login eq "corp/ada"'


# --- OAuth 2.0 service app ---------------------------------------------------------------------


def test_oauth_client_gets_a_token_with_private_key_jwt_and_sends_it_as_bearer(
    okta: FakeOkta,
    make_client: Callable[..., OktaClient],
    oauth: OAuthCredential,
    group_id: str,
    user_id: str,
) -> None:
    make_client(oauth).add_user_to_group(group_id, user_id)

    token_request, put = okta.requests_log
    assert token_request.path == "/oauth2/v1/token"
    form = _form(token_request.body)
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == SCOPES == "okta.groups.manage okta.users.read"
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    claims = _jwt_part(form["client_assertion"], 1)
    assert claims["iss"] == claims["sub"] == oauth.client_id
    assert claims["aud"] == f"{okta.url}/oauth2/v1/token"
    assert claims["exp"] > time.time()
    (issued,) = okta.access_tokens
    assert put.headers["Authorization"] == f"Bearer {issued}"
    assert okta.groups[group_id].members == {user_id}


def _as_jwk(pem: str, key_type: str, kid: str) -> str:
    key = RSAKey.import_key(pem) if key_type == "RSA" else ECKey.import_key(pem)
    return json.dumps(key.as_dict(private=True) | {"kid": kid})


@pytest.mark.parametrize(
    ("key_type", "form", "alg"),
    [("RSA", "jwk", "RS256"), ("EC", "pem", "ES256"), ("EC", "jwk", "ES256")],
)
def test_oauth_private_key_may_be_rsa_or_ec_as_pem_or_jwk(
    okta: FakeOkta,
    make_client: Callable[..., OktaClient],
    group_id: str,
    key_type: str,
    form: str,
    alg: str,
) -> None:
    client_id, pem = okta.add_oauth_client(key_type=key_type)
    private_key = _as_jwk(pem, key_type, "key-1") if form == "jwk" else pem

    make_client(OAuthCredential(client_id, private_key)).get_group(group_id)

    header = _jwt_part(_form(okta.requests_log[0].body)["client_assertion"], 0)
    assert header["alg"] == alg
    assert header.get("kid") == ("key-1" if form == "jwk" else None)


def test_key_id_is_sent_as_the_assertion_kid(
    okta: FakeOkta, make_client: Callable[..., OktaClient], group_id: str
) -> None:
    client_id, pem = okta.add_oauth_client()

    make_client(OAuthCredential(client_id, pem, key_id="kid-2024")).get_group(group_id)

    assert _jwt_part(_form(okta.requests_log[0].body)["client_assertion"], 0)["kid"] == "kid-2024"


def test_access_token_is_cached_across_calls_and_clients(
    okta: FakeOkta,
    make_client: Callable[..., OktaClient],
    oauth: OAuthCredential,
    group_id: str,
    user_id: str,
) -> None:
    first = make_client(oauth)
    for _ in range(5):
        first.add_user_to_group(group_id, user_id)
    make_client(OAuthCredential(oauth.client_id, oauth.private_key)).get_group(group_id)

    assert okta.token_requests == 1
    assert len({r.headers["Authorization"] for r in okta.api_requests}) == 1


def test_concurrent_callers_share_a_single_token_request(
    okta: FakeOkta, make_client: Callable[..., OktaClient], oauth: OAuthCredential, group_id: str
) -> None:
    clients = [make_client(oauth) for _ in range(6)]
    okta.delay = 0.05  # widen the window in which the callers race for a token
    errors: list[Exception] = []

    def call(client: OktaClient) -> None:
        try:
            client.get_group(group_id)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert okta.token_requests == 1


def test_access_token_is_refreshed_60_seconds_before_it_expires(
    okta: FakeOkta, make_client: Callable[..., OktaClient], oauth: OAuthCredential, group_id: str
) -> None:
    okta.token_lifetime = 61  # usable for one second once the 60 s margin is taken off
    client = make_client(oauth)
    client.get_group(group_id)
    client.get_group(group_id)
    assert okta.token_requests == 1

    time.sleep(1.1)
    client.get_group(group_id)

    assert okta.token_requests == 2


def test_a_stale_cached_token_is_replaced_once_after_a_401(
    okta: FakeOkta, make_client: Callable[..., OktaClient], oauth: OAuthCredential, group_id: str
) -> None:
    client = make_client(oauth)
    client.get_group(group_id)
    okta.revoke_access_tokens()

    client.get_group(group_id)

    assert okta.token_requests == 2
    statuses = [r.headers["Authorization"] for r in okta.api_requests]
    assert statuses[1] == statuses[0] != statuses[2]


def test_a_second_401_after_the_retry_raises_auth_error(
    okta: FakeOkta, make_client: Callable[..., OktaClient], oauth: OAuthCredential, group_id: str
) -> None:
    client = make_client(oauth)
    client.get_group(group_id)
    okta.fail_next(2, 401)

    with pytest.raises(OktaAuthError) as raised:
        client.get_group(group_id)

    assert raised.value.error_code == "E0000011"
    assert okta.token_requests == 2
    assert len(okta.api_requests) == 3


def test_a_401_on_a_freshly_fetched_token_is_not_retried(
    okta: FakeOkta, make_client: Callable[..., OktaClient], oauth: OAuthCredential, group_id: str
) -> None:
    okta.fail_next(1, 401)

    with pytest.raises(OktaAuthError):
        make_client(oauth).get_group(group_id)

    assert okta.token_requests == 1
    assert len(okta.api_requests) == 1


def test_a_key_okta_does_not_know_raises_token_error_with_invalid_client(
    okta: FakeOkta, make_client: Callable[..., OktaClient], group_id: str
) -> None:
    client_id, _ = okta.add_oauth_client()
    _, other_pem = okta.add_oauth_client()

    client = make_client(OAuthCredential(client_id, other_pem))
    with pytest.raises(OktaTokenError) as raised:
        client.get_group(group_id)

    assert isinstance(raised.value, OktaAuthError)
    assert (raised.value.status, raised.value.error_code) == (401, "invalid_client")
    assert "signature" in str(raised.value)
    assert okta.api_requests == []


@pytest.mark.parametrize(
    ("private_key", "problem"),
    [
        ("not a key at all", "not a valid RSA or EC private key"),
        ('{"kty": "RSA", "n": "AQAB", "e": "AQAB"}', "public key"),
        ("encrypted", "passphrase"),
    ],
)
def test_an_unusable_private_key_is_reported_without_a_token_request(
    okta: FakeOkta,
    make_client: Callable[..., OktaClient],
    group_id: str,
    private_key: str,
    problem: str,
) -> None:
    if private_key == "encrypted":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        ).decode()

    with pytest.raises(OktaTokenError, match=problem):
        make_client(OAuthCredential("0oaClient", private_key)).get_group(group_id)

    assert okta.token_requests == 0


def test_missing_granted_scopes_are_named_in_the_connection_check(
    okta: FakeOkta, make_client: Callable[..., OktaClient], group_id: str
) -> None:
    client_id, pem = okta.add_oauth_client(scopes=("okta.groups.manage",))

    check = make_client(OAuthCredential(client_id, pem)).check_connection(group_id)

    assert not check.ok
    assert "invalid_scope" in check.reason
    assert "okta.users.read" in check.reason


# --- Rate limits -----------------------------------------------------------------------------


def test_rate_limit_headers_are_parsed_into_naive_utc(
    okta: FakeOkta, client: OktaClient, group_id: str
) -> None:
    rate_limit = client.add_user_to_group(group_id, okta.add_user(ADA))

    assert (rate_limit.limit, rate_limit.remaining) == (600, 599)
    assert rate_limit.reset is not None and rate_limit.reset.tzinfo is None
    now = datetime.now(UTC).replace(tzinfo=None)
    assert now < rate_limit.reset <= now + timedelta(seconds=61)
    assert client.last_rate_limit == rate_limit


def test_should_pause_tells_callers_to_slow_down_before_the_limit_is_hit(
    okta: FakeOkta, client: OktaClient, group_id: str
) -> None:
    okta.set_rate_limit(20)
    seen: list[RateLimit] = []
    for _ in range(20):
        client.get_group(group_id)
        assert client.last_rate_limit is not None
        seen.append(client.last_rate_limit)
    reset = seen[-1].reset

    assert [r.remaining for r in seen] == list(range(19, -1, -1))
    assert [r.should_pause() for r in seen[:18]] == [None] * 18  # remaining 19 … 2
    assert [r.should_pause() for r in seen[18:]] == [reset, reset]  # 1 (5 % of 20), then 0
    with pytest.raises(OktaRateLimitedError) as raised:
        client.get_group(group_id)
    assert raised.value.error_code == "E0000047"
    assert raised.value.retry_at == reset


def test_a_429_gives_retry_at_from_the_reset_header(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str
) -> None:
    reset = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(seconds=42)
    okta.fail_next(
        1, 429, headers={"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(_epoch(reset))}
    )

    with pytest.raises(OktaRateLimitedError) as raised:
        client.add_user_to_group(group_id, user_id)

    assert raised.value.retry_at == reset
    assert raised.value.status == 429
    assert raised.value.rate_limit == RateLimit(600, 0, reset)


def test_a_429_without_reset_header_retries_a_minute_later(
    okta: FakeOkta, client: OktaClient, group_id: str
) -> None:
    okta.fail_next(1, 429, headers={"X-Rate-Limit-Reset": None})
    before = datetime.now(UTC).replace(tzinfo=None)

    with pytest.raises(OktaRateLimitedError) as raised:
        client.get_group(group_id)

    assert before + timedelta(seconds=59) < raised.value.retry_at
    assert raised.value.retry_at < before + timedelta(seconds=61)


# Reset times relative to when the test runs (not when it was collected): "soon" is five
# minutes ahead, "past" five seconds ago.
@pytest.mark.parametrize(
    ("limit", "remaining", "reset", "pauses"),
    [
        (600, 31, "soon", False),
        (600, 30, "soon", True),  # 5 % of 600
        (20, 2, "soon", False),
        (20, 1, "soon", True),  # at least one call is always kept back
        (10, 0, "soon", True),
        (None, 1, "soon", True),
        (600, None, "soon", False),
        (600, 0, "past", False),  # the window already rolled over
    ],
)
def test_should_pause_table(
    limit: int | None, remaining: int | None, reset: str, pauses: bool
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    when = now + timedelta(minutes=5) if reset == "soon" else now - timedelta(seconds=5)
    expected = when if pauses else None
    assert RateLimit(limit, remaining, when).should_pause() == expected


def test_should_pause_without_a_reset_waits_a_minute() -> None:
    pause = RateLimit(100, 0, None).should_pause()

    assert pause is not None
    assert pause - datetime.now(UTC).replace(tzinfo=None) > timedelta(seconds=55)


# --- Failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(
    okta: FakeOkta, client: OktaClient, group_id: str, user_id: str, status: int
) -> None:
    okta.fail_next(1, status)

    with pytest.raises(OktaUnavailableError) as raised:
        client.add_user_to_group(group_id, user_id)

    assert raised.value.status == status
    client.add_user_to_group(group_id, user_id)  # only the next call was broken
    assert okta.groups[group_id].members == {user_id}


def test_an_answer_slower_than_the_timeout_is_transient(
    okta: FakeOkta, make_client: Callable[..., OktaClient], group_id: str
) -> None:
    okta.delay = 1.0
    started = time.monotonic()

    with pytest.raises(OktaUnavailableError, match="did not answer"):
        make_client(timeout=0.2).get_group(group_id)

    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize(
    ("status", "code", "summary"),
    [
        (401, "E0000011", "Invalid token provided"),
        (403, "E0000006", "You do not have permission to perform the requested action"),
    ],
)
def test_auth_failures_carry_oktas_error_code_and_summary(
    okta: FakeOkta, client: OktaClient, group_id: str, status: int, code: str, summary: str
) -> None:
    okta.fail_next(1, status)

    with pytest.raises(OktaAuthError) as raised:
        client.get_group(group_id)

    error = raised.value
    assert (error.status, error.error_code, error.error_summary) == (status, code, summary)
    assert code in str(error) and summary in str(error)


def test_a_wrong_api_token_is_rejected_with_e0000011(
    make_client: Callable[..., OktaClient], group_id: str
) -> None:
    with pytest.raises(OktaAuthError) as raised:
        make_client(SswsCredential("wrong-token")).get_group(group_id)

    assert raised.value.error_code == "E0000011"


def test_other_client_errors_raise_request_error(
    okta: FakeOkta, client: OktaClient, group_id: str
) -> None:
    okta.fail_next(1, 400)

    with pytest.raises(OktaRequestError) as raised:
        client.get_group(group_id)

    assert raised.value.error_code == "E0000001"


@pytest.mark.parametrize(
    ("reset", "reason"), [(False, "Connection refused"), (True, "Connection reset")]
)
def test_an_unreachable_org_is_transient(
    okta: FakeOkta, client: OktaClient, group_id: str, reset: bool, reason: str
) -> None:
    client.get_group(group_id)  # a pooled keep-alive connection must not hide the outage
    okta.down(reset=reset)

    with pytest.raises(OktaUnavailableError, match=reason):
        client.get_group(group_id)

    okta.up()
    assert client.get_group(group_id)["id"] == group_id


def test_a_certificate_from_another_ca_is_refused(
    okta: FakeOkta, make_client: Callable[..., OktaClient], group_id: str
) -> None:
    with FakeOkta() as other:
        client = make_client(verify=other.ca_path)
        with pytest.raises(OktaUnavailableError, match="certificate verify failed"):
            client.get_group(group_id)

    assert okta.requests_log == []


def test_org_url_must_be_https_without_path() -> None:
    with pytest.raises(ValueError, match="https"):
        OktaClient("http://acme.okta.com", SswsCredential(API_TOKEN))
    with pytest.raises(ValueError, match="path"):
        OktaClient("https://acme.okta.com/api/v1", SswsCredential(API_TOKEN))


# --- check_connection --------------------------------------------------------------------------


def test_check_connection_accepts_a_reachable_okta_group(client: OktaClient, group_id: str) -> None:
    check = client.check_connection(group_id)

    assert check == ConnectionCheck(True, check.reason, "Passwordless users", "OKTA_GROUP")
    assert "Passwordless users" in check.reason


@pytest.mark.parametrize(
    ("group_type", "reason"),
    [("APP_GROUP", "imported from an app or directory"), ("BUILT_IN", "built-in Okta group")],
)
def test_check_connection_refuses_groups_okta_manages_itself(
    okta: FakeOkta, client: OktaClient, group_type: str, reason: str
) -> None:
    other = okta.add_group("Everyone" if group_type == "BUILT_IN" else "AD: Staff", group_type)

    check = client.check_connection(other)

    assert not check.ok
    assert check.group_type == group_type
    assert reason in check.reason
    assert "OKTA_GROUP" in check.reason


def test_check_connection_reports_a_bad_token_with_oktas_error(
    make_client: Callable[..., OktaClient], group_id: str
) -> None:
    check = make_client(SswsCredential("revoked-token")).check_connection(group_id)

    assert not check.ok
    assert "rejected the API token" in check.reason
    assert "E0000011: Invalid token provided" in check.reason


def test_check_connection_reports_a_missing_group(client: OktaClient) -> None:
    check = client.check_connection("00gMissingGroup00000")

    assert not check.ok
    assert "no group with ID 00gMissingGroup00000" in check.reason
    assert check.group_name is None


@pytest.mark.parametrize(("calls_before", "action"), [(0, "read the group"), (1, "read users")])
def test_check_connection_reports_missing_permissions(
    okta: FakeOkta, client: OktaClient, group_id: str, calls_before: int, action: str
) -> None:
    if calls_before:
        okta.fail_next(calls_before, 200, body={"id": group_id, "type": "OKTA_GROUP"})
    okta.fail_next(1, 403)

    check = client.check_connection(group_id)

    assert not check.ok
    assert f"does not allow it to {action}" in check.reason
    assert "E0000006" in check.reason


def test_check_connection_reports_a_missing_scope_of_an_oauth_token(
    okta: FakeOkta, make_client: Callable[..., OktaClient], oauth: OAuthCredential, group_id: str
) -> None:
    okta.fail_next(1, 403)

    check = make_client(oauth).check_connection(group_id)

    assert not check.ok
    assert "okta.groups.manage" in check.reason and "admin role" in check.reason


def test_check_connection_reports_rate_limiting_and_when_to_retry(
    okta: FakeOkta, client: OktaClient, group_id: str
) -> None:
    reset = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(seconds=30)
    okta.fail_next(1, 429, headers={"X-Rate-Limit-Reset": str(_epoch(reset))})

    check = client.check_connection(group_id)

    assert not check.ok
    assert "rate limit" in check.reason and f"{reset:%H:%M:%S} UTC" in check.reason


def test_check_connection_reports_an_unreachable_org(
    okta: FakeOkta, client: OktaClient, group_id: str
) -> None:
    okta.down()

    check = client.check_connection(group_id)

    assert not check.ok
    assert check.reason.startswith(f"Could not reach Okta at {okta.url}")


def test_check_connection_reports_an_untrusted_certificate(
    okta: FakeOkta, make_client: Callable[..., OktaClient], group_id: str
) -> None:
    check = make_client(verify=True).check_connection(group_id)

    assert not check.ok
    assert "certificate verify failed" in check.reason


# --- Secrets ---------------------------------------------------------------------------------


def test_credentials_and_clients_never_show_their_secrets(okta: FakeOkta) -> None:
    client_id, pem = okta.add_oauth_client()
    ssws, oauth = SswsCredential(API_TOKEN), OAuthCredential(client_id, pem, key_id="k1")
    pem_body = pem.splitlines()[5]

    shown = [repr(ssws), str(ssws), repr(oauth), str(oauth)]
    with OktaClient(okta.url, ssws) as a, OktaClient(okta.url, oauth) as b:
        shown += [repr(a), repr(b)]

    assert repr(ssws) == "SswsCredential(token=<hidden>)"
    assert client_id in repr(oauth)
    assert not any(API_TOKEN in text or pem_body in text for text in shown)


def test_no_secret_appears_in_any_error_message(
    okta: FakeOkta, make_client: Callable[..., OktaClient], oauth: OAuthCredential, group_id: str
) -> None:
    messages: list[str] = []

    def failure(call: Callable[[], object]) -> None:
        with pytest.raises(OktaError) as raised:
            call()
        messages.extend([str(raised.value), repr(raised.value)])

    ssws = make_client()
    oauth_client = make_client(oauth)
    oauth_client.get_group(group_id)  # a token is issued and cached
    for status in (400, 401, 403, 404, 429, 500):
        okta.fail_next(1, status)
        failure(lambda: ssws.get_group(group_id))
        okta.fail_next(2, status)
        failure(lambda: oauth_client.get_group(group_id))
    okta.fail_next(1, 401, token_endpoint=True, body={"error": "invalid_client"})
    clear_token_cache()
    failure(lambda: oauth_client.get_group(group_id))
    okta.dpop_clients.add(oauth.client_id)
    failure(lambda: oauth_client.get_group(group_id))
    failure(lambda: make_client(OAuthCredential("0oaX", oauth.private_key[:-40])).get_group("g"))
    okta.down()
    failure(lambda: ssws.get_group(group_id))
    failure(lambda: oauth_client.get_group(group_id))

    secrets = {API_TOKEN, *okta.access_tokens, *oauth.private_key.splitlines()[1:-1]}
    secrets |= {
        _form(r.body)["client_assertion"] for r in okta.requests_log if r.path.endswith("/token")
    }
    assert len(messages) >= 30
    leaks = [(s, m) for s in secrets for m in messages if s in m]
    assert leaks == []


def test_an_api_token_with_a_line_break_inside_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError) as raised:
        SswsCredential("abc\r\nX-Injected: 1")

    assert "abc" not in str(raised.value)
    assert SswsCredential(f"  {API_TOKEN}\n").token == API_TOKEN


# --- Parsing admin input ---------------------------------------------------------------------

GROUP = "00ga12bf34X5KZ67d0e8"


@pytest.mark.parametrize(
    "text",
    [
        GROUP,
        f"  {GROUP}\n",
        f"https://acme-admin.okta.com/admin/group/{GROUP}",
        f"https://acme-admin.okta.com/admin/group/{GROUP}/",
        f"https://acme-admin.okta.com/admin/group/{GROUP}?tab=people",
        f"https://acme-admin.okta.com/admin/group/{GROUP}#people",
        f"https://acme-admin.okta.com/admin/group/{GROUP}/?x=1#y",
        f"https://acme-admin.oktapreview.com/admin/group/{GROUP}/application-assignments",
        f"acme-admin.okta.com/admin/group/{GROUP}",
    ],
)
def test_parse_group_ref_accepts_ids_and_admin_console_urls(text: str) -> None:
    assert parse_group_ref(text) == GROUP


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "group's ID"),
        ("Passwordless users", "group's ID"),
        ("00ga12bf34X5KZ67d0e", "group's ID"),  # 19 characters
        ("00ga12bf34X5KZ67d0e8X", "group's ID"),  # 21 characters
        ("00ua12bf34X5KZ67d0e8", "not a group's"),  # a user id
        ("00ga12bf34X5KZ67-0e8", "group's ID"),
        ("https://acme-admin.okta.com/admin/user/profile/view/00ua12bf34X5KZ67d0e8", "URL"),
        ("https://acme-admin.okta.com/admin/groups", "URL"),
        (f"https://acme-admin.okta.com/admin/group/{GROUP}x", "URL"),
    ],
)
def test_parse_group_ref_explains_what_to_paste_instead(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_group_ref(text)


APP = "0oa1b2c3d4E5F6g7h8i9"


@pytest.mark.parametrize(
    "text",
    [
        APP,
        f"  {APP} ",
        f"https://acme-admin.okta.com/admin/app/acme_scim/instance/{APP}/",
        f"https://acme-admin.okta.com/admin/app/acme_scim/instance/{APP}/#tab-general",
        f"acme-admin.okta.com/admin/app/oidc_client/instance/{APP}",
    ],
)
def test_parse_app_ref_accepts_ids_and_admin_console_urls(text: str) -> None:
    assert parse_app_ref(text) == APP


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("My SCIM app", "app's ID"),
        ("0oa1b2c3d4E5F6g7h8i", "app's ID"),  # 19 characters
        ("00ga12bf34X5KZ67d0e8", "not an app's"),  # a group id
        ("https://acme-admin.okta.com/admin/group/00ga12bf34X5KZ67d0e8", "app's ID"),
    ],
)
def test_parse_app_ref_explains_what_to_paste_instead(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_app_ref(text)


@pytest.mark.parametrize(
    ("url", "org"),
    [
        ("https://acme.okta.com", "https://acme.okta.com"),
        ("https://ACME.Okta.com/", "https://acme.okta.com"),
        ("https://acme.okta.com/app/UserHome?x=1#y", "https://acme.okta.com"),
        ("https://acme.okta.com:443/", "https://acme.okta.com"),
        ("https://acme-admin.okta.com/admin/group/00ga12bf34X5KZ67d0e8", "https://acme.okta.com"),
        ("https://dev-123456-admin.okta.com", "https://dev-123456.okta.com"),
        ("https://acme.oktapreview.com", "https://acme.oktapreview.com"),
        ("https://acme-admin.okta-emea.com", "https://acme.okta-emea.com"),
        ("https://acme.okta-gov.com", "https://acme.okta-gov.com"),
        ("https://acme.okta.mil", "https://acme.okta.mil"),
        ("https://acme.trexcloud.com", "https://acme.trexcloud.com"),
        ("  https://acme.okta.com  ", "https://acme.okta.com"),
    ],
)
def test_normalize_org_url_gives_the_org_origin(url: str, org: str) -> None:
    assert normalize_org_url(url) == org


@pytest.mark.parametrize(
    ("url", "allowed", "org"),
    [
        ("https://login.acme.com/", ["login.acme.com"], "https://login.acme.com"),
        ("https://LOGIN.acme.com/x", ["Login.Acme.com"], "https://login.acme.com"),
        ("https://localhost:8443", ["localhost:8443"], "https://localhost:8443"),
        ("https://127.0.0.1:8443/", ["127.0.0.1:8443"], "https://127.0.0.1:8443"),
        ("https://login.acme.com:443", ["login.acme.com"], "https://login.acme.com"),
    ],
)
def test_normalize_org_url_accepts_explicitly_allowed_hosts(
    url: str, allowed: list[str], org: str
) -> None:
    assert normalize_org_url(url, allowed) == org


@pytest.mark.parametrize(
    ("url", "allowed", "message"),
    [
        ("http://acme.okta.com", [], "https://"),
        ("acme.okta.com", [], "https://"),
        ("ftp://acme.okta.com", [], "https://"),
        ("https://", [], "https://"),
        ("https://okta.com", [], "not an Okta domain"),
        ("https://acme.okta.com.evil.example", [], "not an Okta domain"),
        ("https://evilokta.com", [], "not an Okta domain"),
        ("https://login.acme.com", [], "not an Okta domain"),
        ("https://login.acme.com", ["other.acme.com"], "not an Okta domain"),
        ("https://localhost:8443", ["localhost:9443"], "not an Okta domain"),
        ("https://localhost:8443", ["localhost"], "not an Okta domain"),
        ("https://user:pw@acme.okta.com", [], "user name or password"),
        ("https://acme.okta.com@evil.example", [], "user name or password"),
        ("https://user@login.acme.com", ["login.acme.com"], "user name or password"),
        ("https://10.0.0.1", [], "IP address"),
        ("https://[::1]:8443", ["localhost:8443"], "IP address"),
        ("https://acme.okta.com:8443", [], "standard HTTPS port"),
        ("https://acme.okta.com:notaport", [], "invalid port"),
        ("https://ac_me.okta.com", [], "not an Okta domain"),
    ],
)
def test_normalize_org_url_refuses_anything_else(
    url: str, allowed: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_org_url(url, allowed)
