"""A local HTTPS server that speaks Okta's Management API and org token endpoint, for tests.

Usage::

    with FakeOkta() as okta:
        okta.api_tokens.add("t0ken")
        group_id = okta.add_group("Passwordless")
        user_id = okta.add_user("ada@example.com")
        client = OktaClient(okta.url, SswsCredential("t0ken"), verify=okta.ca_path)
        ...
        assert user_id in okta.groups[group_id].members

Wire format follows docs/okta.md §4: Okta's error body (errorCode, errorSummary, errorLink, errorId,
errorCauses), X-Rate-Limit-* headers on every API answer, 411 for a bodiless PUT without
Content-Length, and a token endpoint that verifies private_key_jwt client assertions. Apps in
``dpop_clients`` get DPoP-bound tokens (RFC 9449): the token request needs a proof carrying the
server's ``DPoP-Nonce``, and each API call a fresh proof with ``ath``, checked against the key the
token is bound to (and, when ``dpop_api_nonce`` is set, the resource server's nonce too).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import math
import re
import secrets
import socket
import ssl
import string
import struct
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, import_key

from testkit import leaks
from testkit.fakes.local_server import FakeHandler, FakeHTTPServer, LocalServer, LoggedRequest

ALL_SCOPES = (
    "okta.groups.manage",
    "okta.groups.read",
    "okta.users.read",
    "okta.users.manage",
    "okta.apps.read",
    "okta.logs.read",
)
DEFAULT_CLIENT_SCOPES = ("okta.groups.manage", "okta.users.read", "okta.logs.read")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
_ALNUM = string.ascii_letters + string.digits


def okta_id(prefix: str) -> str:
    """A random Okta-style id: a 3-character type prefix and 17 letters/digits (20 in all)."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(20 - len(prefix)))


def okta_error(code: str, summary: str, *causes: str) -> dict[str, Any]:
    """Okta's error body (docs/okta.md §4.4)."""
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae" + "".join(secrets.choice(_ALNUM) for _ in range(22)),
        "errorCauses": [{"errorSummary": cause} for cause in causes],
    }


# Default bodies for fail_next(), by status.
_DEFAULT_ERRORS = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
}


@dataclass
class FakeGroup:
    """An Okta group; only OKTA_GROUP members can be changed through the API."""

    name: str
    type: str = "OKTA_GROUP"
    members: set[str] = field(default_factory=set)


@dataclass
class _IssuedToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    jkt: str | None = None  # thumbprint of the DPoP key a DPoP-bound token is tied to


@dataclass
class _Fault:
    remaining: int
    status: int
    body: Any
    headers: dict[str, str | None]


class _Answer(NamedTuple):
    status: int
    body: Any = None  # dict/list → JSON, bytes → as is, None → no body
    headers: Mapping[str, str] = {}


def write_self_signed_certificate(directory: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A throwaway self-signed certificate for ``host`` and 127.0.0.1 (also its own CA), as
    cert.pem and key.pem in ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(host),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler(FakeHandler):
    timeout = 30  # idle keep-alive connections are dropped after this
    wbufsize = -1  # headers and body leave in one write: no Nagle/delayed-ACK stall per answer


class _Server(FakeHTTPServer):
    fake: FakeOkta

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake here, in the connection's thread, so a client that rejects the
        # certificate only ends its own connection.
        fake = self.fake
        if fake._reset_connections:
            # SO_LINGER 0: closing sends RST, so the client sees "connection reset by peer".
            # Wait for the ClientHello first, so the reset lands mid-handshake, not mid-connect.
            request.settimeout(2)
            with contextlib.suppress(OSError):
                request.recv(65536)
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            request.close()
            return
        request.settimeout(10)
        try:
            conn = fake._tls.wrap_socket(request, server_side=True)
        except OSError:  # includes ssl.SSLError: the client refused our certificate
            return
        with fake._lock:
            fake._connections.add(conn)
        try:
            _Handler(conn, client_address, self)
        except OSError:  # the client hung up, timed out, or down() cut the connection
            pass
        finally:
            with fake._lock:
                fake._connections.discard(conn)
            conn.close()


class _RegisteredTokens(set[str]):
    """API tokens the org accepts, each registered as a secret no log may show."""

    def add(self, token: str) -> None:
        """Accept ``token``."""
        leaks.register("Okta API token", token)
        super().add(token)

    def update(self, *tokens: Iterable[str]) -> None:
        """Accept every token given."""
        for group in tokens:
            for token in group:
                self.add(token)


class FakeOkta(LocalServer):
    """An Okta org on ``https://localhost:<port>``; use as a context manager."""

    def __init__(self, *, rate_limit: int = 600, rate_window: float = 60.0) -> None:
        super().__init__()
        self.groups: dict[str, FakeGroup] = {}
        self.users: dict[str, str] = {}  # user id → login
        self.user_status: dict[str, str] = {}  # user id → status, when not ACTIVE
        self.user_email: dict[str, str] = {}  # user id → profile.email, when not the login
        self.app_users: dict[str, set[str]] = {}  # app id → ids of the users assigned to it
        self.log_events: list[dict[str, Any]] = []  # the System Log, as Okta's LogEvent objects
        self.api_tokens: set[str] = _RegisteredTokens()
        self.clients: dict[str, str] = {}  # client id → public key PEM
        self.client_scopes: dict[str, set[str]] = {}  # client id → granted scopes
        self.dpop_clients: set[str] = set()  # apps with "Require DPoP" turned on
        self.dpop_nonce = secrets.token_urlsafe(16)  # the token endpoint's current nonce
        self.dpop_api_nonce: str | None = None  # set: the API wants proofs with this nonce
        self.dpop_rejections: list[str] = []  # why each refused DPoP proof was refused
        self._used_proof_jtis: set[str] = set()
        self.access_tokens: dict[str, _IssuedToken] = {}
        self.token_lifetime = 3600
        self.token_requests = 0
        self.delay = 0.0  # seconds to wait before answering any request
        self.requests_log: list[LoggedRequest] = []
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self._window_reset = 0.0
        self._window_used = 0
        self._used_jtis: set[str] = set()
        self._faults: list[_Fault] = []
        self._token_faults: list[_Fault] = []
        self._connections: set[ssl.SSLSocket] = set()
        self._reset_connections = False
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.port = 0
        self.ca_path = ""

    # Lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> FakeOkta:
        """Generate a certificate and start serving."""
        self._tempdir = tempfile.TemporaryDirectory(prefix="fake-okta-")
        cert_path, key_path = write_self_signed_certificate(Path(self._tempdir.name))
        self.ca_path = str(cert_path)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(cert_path, key_path)
        self._start()
        return self

    def shut_down(self) -> None:
        """Stop serving, cut open connections and delete the certificate."""
        self._stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    @property
    def host(self) -> str:
        """``localhost:<port>``, e.g. for ``normalize_org_url(..., allowed_hosts=[okta.host])``."""
        return f"localhost:{self.port}"

    @property
    def url(self) -> str:
        """The org URL, ``https://localhost:<port>``."""
        return f"https://{self.host}"

    @property
    def token_url(self) -> str:
        """The org authorization server's token endpoint (the client assertion's ``aud``)."""
        return f"{self.url}/oauth2/v1/token"

    def down(self, *, reset: bool = False) -> None:
        """Refuse connections (close the port), or with ``reset`` accept and reset them."""
        if reset:
            self._reset_connections = True
            self._cut_connections()
        else:
            self._stop()

    def up(self) -> None:
        """Serve again on the same port after down()."""
        self._reset_connections = False
        if self._server is None:
            self._start()

    def _start(self) -> None:
        self.serve(_Server(("127.0.0.1", self.port), _Handler, self))
        self.port = self.server_port

    def _stop(self) -> None:
        self.close()
        self._cut_connections()

    def _cut_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            # socket.shutdown, not SSLSocket's: end the TCP stream; the owning thread closes it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
        self.wait_for_answers(timeout=2)

    # State helpers -----------------------------------------------------------------------------

    def add_group(self, name: str, type: str = "OKTA_GROUP", *, group_id: str | None = None) -> str:
        """Create a group (``type`` OKTA_GROUP, APP_GROUP or BUILT_IN); return its id."""
        group_id = group_id or okta_id("00g")
        self.groups[group_id] = FakeGroup(name, type)
        return group_id

    def add_user(
        self,
        login: str,
        *,
        user_id: str | None = None,
        status: str = "ACTIVE",
        email: str | None = None,
    ) -> str:
        """Create a user (``email`` defaults to the login); return its id."""
        user_id = user_id or okta_id("00u")
        self.users[user_id] = login
        self.user_status[user_id] = status
        if email is not None:
            self.user_email[user_id] = email
        return user_id

    def add_app(self, *users: str, app_id: str | None = None) -> str:
        """Create an app instance with ``users`` assigned to it; return its id (0oa…)."""
        app_id = app_id or okta_id("0oa")
        self.app_users[app_id] = set(users)
        return app_id

    def add_oauth_client(
        self,
        *,
        key_type: str = "RSA",
        scopes: tuple[str, ...] = DEFAULT_CLIENT_SCOPES,
        client_id: str | None = None,
    ) -> tuple[str, str]:
        """Register a service app with a fresh key pair (RSA or EC); return (client id, PEM)."""
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if key_type == "RSA":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif key_type == "EC":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(f"unsupported key type {key_type!r}")
        client_id = client_id or okta_id("0oa")
        self.clients[client_id] = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.client_scopes[client_id] = set(scopes)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        leaks.register("Okta private key", pem)
        return client_id, pem

    def revoke_access_tokens(self) -> None:
        """Invalidate every issued access token (as if the app's key was rotated)."""
        with self._lock:
            self.access_tokens.clear()

    def fail_next(
        self,
        count: int,
        status: int,
        body: Any = None,
        headers: Mapping[str, str | None] | None = None,
        *,
        token_endpoint: bool = False,
    ) -> None:
        """Answer the next ``count`` API calls (or token requests) with ``status``.

        ``body`` defaults to Okta's error body for the status; ``headers`` override the
        rate-limit headers (e.g. ``{"X-Rate-Limit-Reset": "..."}`` for a 429), and a None
        value removes one.
        """
        if body is None and status >= 400:
            code, summary = _DEFAULT_ERRORS.get(status, ("E0000009", "Internal Server Error"))
            body = okta_error(code, summary)
            if token_endpoint:
                body = {"error": "server_error", "error_description": summary}
        fault = _Fault(count, status, body, dict(headers or {}))
        with self._lock:
            (self._token_faults if token_endpoint else self._faults).append(fault)

    def set_rate_limit(self, limit: int, window: float = 60.0) -> None:
        """Allow ``limit`` API calls per ``window`` seconds, starting a fresh window."""
        with self._lock:
            self.rate_limit, self.rate_window = limit, window
            self._window_reset, self._window_used = 0.0, 0

    @property
    def api_requests(self) -> list[LoggedRequest]:
        """The logged requests to /api/v1 (without token requests)."""
        return [r for r in self.requests_log if r.path.startswith("/api/")]

    # Dispatch --------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        _, _, headers, body = handler.logged()
        length = handler.headers.get("Content-Length")
        if self.delay:
            self._closing.wait(self.delay)
        path = urlsplit(handler.path).path
        if handler.command == "POST" and path == "/oauth2/v1/token":
            answer = self._token(body, headers.get("DPoP"))
        elif path.startswith("/api/v1/"):
            answer = self._api(handler, length)
        else:
            answer = _Answer(404, okta_error("E0000007", f"Not found: Resource not found: {path}"))
        self._respond(handler, answer)

    def _respond(self, handler: _Handler, answer: _Answer) -> None:
        payload = b""
        if isinstance(answer.body, bytes):
            payload = answer.body
        elif answer.body is not None:
            payload = json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        header_names = {name.lower() for name in answer.headers}
        if "content-type" not in header_names and answer.status != 204:
            handler.send_header("Content-Type", "application/json")
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("X-Okta-Request-Id", secrets.token_hex(10))
        if answer.status != 204:
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if answer.status != 204:
            handler.wfile.write(payload)
        handler.wfile.flush()

    def _next_fault(self, faults: list[_Fault]) -> _Fault | None:
        with self._lock:
            if not faults:
                return None
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
            return fault

    def _rate_limit_headers(self) -> tuple[dict[str, str], bool]:
        """Count one API call; return the rate-limit headers and whether it is over the limit."""
        with self._lock:
            now = time.time()
            if now >= self._window_reset:
                self._window_reset, self._window_used = now + self.rate_window, 0
            self._window_used += 1
            remaining = max(0, self.rate_limit - self._window_used)
            headers = {
                "X-Rate-Limit-Limit": str(self.rate_limit),
                "X-Rate-Limit-Remaining": str(remaining),
                "X-Rate-Limit-Reset": str(math.ceil(self._window_reset)),
            }
            return headers, self._window_used > self.rate_limit

    # Management API ----------------------------------------------------------------------------

    def _api(self, handler: _Handler, length: str | None) -> _Answer:
        method = handler.command
        if method in ("PUT", "POST") and length is None:
            # Okta's front end answers this, not the API: HTML, no rate-limit headers.
            return _Answer(411, b"<html><body><h1>411 Length Required</h1></body></html>", _HTML)
        rate_headers, over_limit = self._rate_limit_headers()
        fault = self._next_fault(self._faults)
        if fault is not None:
            merged = rate_headers | fault.headers
            return _Answer(
                fault.status, fault.body, {k: v for k, v in merged.items() if v is not None}
            )
        if over_limit:
            code, summary = _DEFAULT_ERRORS[429]
            return _Answer(429, okta_error(code, summary), rate_headers)
        scopes, denied = self._authenticate(
            handler.headers.get("Authorization", ""),
            handler.headers.get("DPoP"),
            method,
            self.url + urlsplit(handler.path).path,
        )
        answer = denied or self._route(method, handler.path, scopes)
        return answer._replace(headers=rate_headers | dict(answer.headers))

    def _authenticate(
        self, authorization: str, proof: str | None, method: str, url: str
    ) -> tuple[frozenset[str] | None, _Answer | None]:
        """The caller's scopes (None: an API token, which carries its admin's rights)."""
        scheme, _, credential = authorization.partition(" ")
        if scheme == "SSWS" and any(
            hmac.compare_digest(credential.encode(), token.encode()) for token in self.api_tokens
        ):
            return None, None
        with self._lock:
            issued = self.access_tokens.get(credential)
        live = issued is not None and issued.expires_at > time.time()
        if scheme == "Bearer" and live and issued is not None and issued.jkt is None:
            return issued.scopes, None
        if scheme == "DPoP" and live and issued is not None and issued.jkt is not None:
            jkt, problem = self._check_proof(
                proof, method, url, nonce=self.dpop_api_nonce, access_token=credential
            )
            if problem == "use_dpop_nonce":
                assert self.dpop_api_nonce is not None
                challenge = (
                    'DPoP error="use_dpop_nonce", '
                    'error_description="Resource server requires nonce in DPoP proof"'
                )
                code, summary = _DEFAULT_ERRORS[401]
                return None, _Answer(
                    401,
                    okta_error(code, summary),
                    {"WWW-Authenticate": challenge, "DPoP-Nonce": self.dpop_api_nonce},
                )
            if problem is None and jkt == issued.jkt:
                return issued.scopes, None
            self.dpop_rejections.append(problem or "the proof is signed by another key")
        code, summary = _DEFAULT_ERRORS[401]
        return None, _Answer(401, okta_error(code, summary))

    def rotate_dpop_nonce(self) -> None:
        """Hand out a new token-endpoint nonce (and API nonce, if one is set): old ones fail."""
        with self._lock:
            self.dpop_nonce = secrets.token_urlsafe(16)
            if self.dpop_api_nonce is not None:
                self.dpop_api_nonce = secrets.token_urlsafe(16)

    def _check_proof(
        self,
        proof: str | None,
        method: str,
        url: str,
        *,
        nonce: str | None,
        access_token: str | None = None,
    ) -> tuple[str | None, str | None]:
        """Verify a DPoP proof (RFC 9449 §4.3); return (key thumbprint, None) or (None, why).

        ``why`` is ``"use_dpop_nonce"`` when the proof is valid but lacks the current nonce.
        """
        if not proof:
            return None, "The DPoP proof JWT header is missing."
        try:
            header = jws.extract_compact(proof.encode()).headers()
            jwk = header.get("jwk")
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in SIGNING_ALGORITHMS:
                return None, "The DPoP proof has the wrong typ or alg."
            if not isinstance(jwk, dict) or "d" in jwk:
                return None, "The DPoP proof's jwk is not a public key."
            key = import_key(jwk)
            claims = jwt.decode(proof, key, algorithms=[header["alg"]]).claims
        except (JoseError, ValueError, TypeError, KeyError):
            return None, "The DPoP proof signature is invalid."
        now = time.time()
        iat = claims.get("iat")
        if claims.get("htm") != method or claims.get("htu") != url:
            return None, "The DPoP proof's htm or htu does not match the request."
        if not isinstance(iat, int | float) or abs(now - iat) > 60:
            return None, "The DPoP proof's iat is not recent."
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()
            ath = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if claims.get("ath") != ath:
                return None, "The DPoP proof's ath does not match the access token."
        jti = claims.get("jti")
        with self._lock:
            if not isinstance(jti, str) or jti in self._used_proof_jtis:
                return None, "The DPoP proof's jti is missing or was used before."
            self._used_proof_jtis.add(jti)
        if nonce is not None and claims.get("nonce") != nonce:
            return None, "use_dpop_nonce"
        return str(key.thumbprint()), None

    def _route(self, method: str, raw_path: str, scopes: frozenset[str] | None) -> _Answer:
        parts = urlsplit(raw_path)
        # Split before decoding: an encoded "/" (%2F) stays inside its segment.
        segments = parts.path.removeprefix("/api/v1/").split("/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        match segments:
            case ["groups", group_id]:
                if method != "GET":
                    return _method_not_allowed()
                return self._need(scopes, "okta.groups.read", "okta.groups.manage", raw_path) or (
                    self._get_group(unquote(group_id))
                )
            case ["groups", group_id, "users"]:
                if method != "GET":
                    return _method_not_allowed()
                return self._need(scopes, "okta.groups.read", "okta.groups.manage", raw_path) or (
                    self._list_members(unquote(group_id), query)
                )
            case ["groups", group_id, "users", user_id]:
                if method not in ("PUT", "DELETE"):
                    return _method_not_allowed()
                return self._need(scopes, "okta.groups.manage", None, raw_path) or (
                    self._membership(method, unquote(group_id), unquote(user_id))
                )
            case ["users"]:
                if method != "GET":
                    return _method_not_allowed()
                return self._need(scopes, "okta.users.read", "okta.users.manage", raw_path) or (
                    self._list_users(query)
                )
            case ["logs"]:
                if method != "GET":
                    return _method_not_allowed()
                return self._need(scopes, "okta.logs.read", None, raw_path) or self._logs(query)
            case ["apps", app_id, "users"]:
                if method != "GET":
                    return _method_not_allowed()
                return self._need(scopes, "okta.apps.read", "okta.apps.manage", raw_path) or (
                    self._app_users(unquote(app_id), int(query.get("limit", "50")))
                )
            case ["apps", app_id, "users", user_id]:
                if method != "GET":
                    return _method_not_allowed()
                return self._need(scopes, "okta.apps.read", "okta.apps.manage", raw_path) or (
                    self._app_user(unquote(app_id), unquote(user_id))
                )
            case ["users", id_or_login]:
                if method != "GET":
                    return _method_not_allowed()
                return self._need(scopes, "okta.users.read", "okta.users.manage", raw_path) or (
                    self._get_user(id_or_login)
                )
        return _not_found(parts.path)

    def _need(
        self, scopes: frozenset[str] | None, scope: str, alternative: str | None, path: str
    ) -> _Answer | None:
        """403 unless an OAuth token carries ``scope`` (or ``alternative``)."""
        if scopes is None or scope in scopes or (alternative and alternative in scopes):
            return None
        challenge = (
            f'Bearer authorization_uri="{self.url}/oauth2/v1/authorize", realm="IdpError", '
            f'scope="{scope}", error="insufficient_scope", error_description="The access token '
            f'provided does not contain the required scopes.", resource="{urlsplit(path).path}"'
        )
        code, summary = _DEFAULT_ERRORS[403]
        return _Answer(403, okta_error(code, summary), {"WWW-Authenticate": challenge})

    def _group_json(self, group_id: str, group: FakeGroup) -> dict[str, Any]:
        object_class = (
            "okta:windows_security_principal" if group.type == "APP_GROUP" else ("okta:user_group")
        )
        return {
            "id": group_id,
            "created": "2024-01-01T00:00:00.000Z",
            "lastUpdated": "2024-01-01T00:00:00.000Z",
            "lastMembershipUpdated": "2024-01-01T00:00:00.000Z",
            "objectClass": [object_class],
            "type": group.type,
            "profile": {"name": group.name, "description": None},
            "_links": {"users": {"href": f"{self.url}/api/v1/groups/{group_id}/users"}},
        }

    def _user_json(self, user_id: str, login: str) -> dict[str, Any]:
        email = self.user_email.get(user_id, login)
        return {
            "id": user_id,
            "status": self.user_status.get(user_id, "ACTIVE"),
            "created": "2024-01-01T00:00:00.000Z",
            "profile": {"login": login, "email": email, "firstName": None, "lastName": None},
            "_links": {"self": {"href": f"{self.url}/api/v1/users/{user_id}"}},
        }

    def _get_group(self, group_id: str) -> _Answer:
        with self._lock:
            group = self.groups.get(group_id)
            if group is None:
                return _not_found(group_id, "UserGroup")
            return _Answer(200, self._group_json(group_id, group))

    def _list_members(self, group_id: str, query: Mapping[str, str]) -> _Answer:
        """Members in id order, ``limit`` a page (Okta's default 1000), with
        ``Link: <…?after=…>; rel="next"`` while more remain (Groups API, list member users)."""
        limit = min(int(query.get("limit", "1000")), 10000)
        after = query.get("after", "")
        with self._lock:
            group = self.groups.get(group_id)
            if group is None:
                return _not_found(group_id, "UserGroup")
            ids = sorted(u for u in group.members if u in self.users and u > after)
            page = [self._user_json(u, self.users[u]) for u in ids[:limit]]
        base = f"{self.url}/api/v1/groups/{group_id}/users"
        links = [f'<{base}?limit={limit}>; rel="self"']
        if len(ids) > limit:
            links.append(f'<{base}?after={ids[limit - 1]}&limit={limit}>; rel="next"')
        return _Answer(200, page, {"Link": ", ".join(links)})

    def _membership(self, method: str, group_id: str, user_id: str) -> _Answer:
        with self._lock:
            group = self.groups.get(group_id)
            if group is None:
                return _not_found(group_id, "UserGroup")
            if user_id not in self.users:
                return _not_found(user_id, "User")
            if group.type != "OKTA_GROUP":
                code, summary = _DEFAULT_ERRORS[403]
                return _Answer(403, okta_error(code, summary))
            if method == "PUT":
                group.members.add(user_id)
            else:
                group.members.discard(user_id)
            return _Answer(204)

    def _logs(self, query: Mapping[str, str]) -> _Answer:
        """System Log API: ``since``/``until`` (ISO 8601), ``filter`` of ``eventType eq "…"``
        joined by ``or``, ``limit``, ASCENDING order, ``Link: rel="next"`` with ``after``."""
        kinds = set(re.findall(r'eventType eq "([^"]+)"', query.get("filter", "")))
        since, until = query.get("since", ""), query.get("until", "9999")
        limit, after = int(query.get("limit", "100")), query.get("after")
        with self._lock:
            events = sorted(self.log_events, key=lambda event: event["published"])
        chosen = [
            event
            for event in events
            if since <= event["published"] < until and (not kinds or event["eventType"] in kinds)
        ]
        if after:
            uuids = [event["uuid"] for event in chosen]
            chosen = chosen[uuids.index(after) + 1 :] if after in uuids else []
        page = chosen[:limit]
        base = f"{self.url}/api/v1/logs"
        links = [f'<{base}>; rel="self"']
        if page:
            # Okta always offers a next link for a page; a bounded walk ends at an empty page.
            params = urlencode({**query, "after": page[-1]["uuid"]})
            links.append(f'<{base}?{params}>; rel="next"')
        return _Answer(200, page, {"Link": ", ".join(links)})

    def _app_users(self, app_id: str, limit: int) -> _Answer:
        with self._lock:
            assigned = self.app_users.get(app_id)
            if assigned is None:
                return _not_found(app_id, "AppInstance")
            users = sorted(assigned)[:limit]
        return _Answer(200, [self._app_user(app_id, user).body for user in users])

    def _app_user(self, app_id: str, user_id: str) -> _Answer:
        """An app assignment (Apps API: List/Retrieve an assigned app user)."""
        with self._lock:
            assigned = self.app_users.get(app_id)
            if assigned is None:
                return _not_found(app_id, "AppInstance")
            if user_id not in assigned or user_id not in self.users:
                return _not_found(user_id, "AppUser")
            login = self.users[user_id]
        return _Answer(
            200,
            {
                "id": user_id,
                "scope": "USER",
                "status": "ACTIVE",
                "credentials": {"userName": login},
                "_links": {"user": {"href": f"{self.url}/api/v1/users/{user_id}"}},
            },
        )

    def _get_user(self, raw_id_or_login: str) -> _Answer:
        # Logins with "/" can only be fetched by id (docs/okta.md §4.1).
        if "%2f" in raw_id_or_login.lower():
            return _not_found(unquote(raw_id_or_login), "User")
        wanted = unquote(raw_id_or_login)
        with self._lock:
            if wanted in self.users:
                return _Answer(200, self._user_json(wanted, self.users[wanted]))
            for user_id, login in self.users.items():
                if login.lower() == wanted.lower():
                    return _Answer(200, self._user_json(user_id, login))
            # Okta also accepts an unambiguous login shortname (the part before "@").
            short = [(u, lg) for u, lg in self.users.items() if lg.split("@")[0] == wanted]
            if len(short) == 1:
                return _Answer(200, self._user_json(*short[0]))
        return _not_found(wanted, "User")

    def _list_users(self, query: Mapping[str, str]) -> _Answer:
        limit = int(query.get("limit", "200"))
        expression = query.get("filter")
        with self._lock:
            users = list(self.users.items())
        if expression is not None:
            prefix = 'profile.login eq "'
            if not (expression.startswith(prefix) and expression.endswith('"')):
                return _Answer(
                    400, okta_error("E0000031", "Invalid search criteria.", f"filter: {expression}")
                )
            value = expression[len(prefix) : -1].replace('\\"', '"').replace("\\\\", "\\")
            users = [(u, lg) for u, lg in users if lg == value]  # filter values: case-sensitive
        return _Answer(200, [self._user_json(u, lg) for u, lg in users[:limit]])

    # Org authorization server ------------------------------------------------------------------

    def _token(self, body: bytes, proof: str | None) -> _Answer:
        with self._lock:
            self.token_requests += 1
        fault = self._next_fault(self._token_faults)
        if fault is not None:
            headers = {k: v for k, v in fault.headers.items() if v is not None}
            return _Answer(fault.status, fault.body, headers)
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "The authorization grant type is not supported."
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return _oauth_error(
                401,
                "invalid_client",
                "Client authentication failed. Either the client or the "
                "client credentials are invalid.",
            )
        client_id, problem = self._verify_assertion(form["client_assertion"])
        if problem is not None:
            return _oauth_error(401, "invalid_client", problem)
        assert client_id is not None
        jkt = None
        if client_id in self.dpop_clients:
            jkt, problem = self._check_proof(proof, "POST", self.token_url, nonce=self.dpop_nonce)
            if problem == "use_dpop_nonce":
                answer = _oauth_error(
                    400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof."
                )
                return answer._replace(headers={"DPoP-Nonce": self.dpop_nonce})
            if problem is not None:
                self.dpop_rejections.append(problem)
                return _oauth_error(400, "invalid_dpop_proof", problem)
        requested = set(form.get("scope", "").split())
        if not requested:
            return _oauth_error(400, "invalid_scope", "The 'scope' parameter is required.")
        missing = requested - self.client_scopes.get(client_id, set())
        if missing:
            return _oauth_error(
                400,
                "invalid_scope",
                "The following scopes were requested, but not granted: "
                + " ".join(sorted(missing)),
            )
        access_token = secrets.token_urlsafe(32)
        leaks.register("Okta access token", access_token)
        with self._lock:
            self.access_tokens[access_token] = _IssuedToken(
                client_id, frozenset(requested), time.time() + self.token_lifetime, jkt
            )
        return _Answer(
            200,
            {
                "token_type": "DPoP" if jkt else "Bearer",
                "expires_in": self.token_lifetime,
                "access_token": access_token,
                "scope": " ".join(sorted(requested)),
            },
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _verify_assertion(self, assertion: str) -> tuple[str | None, str | None]:
        """Check the private_key_jwt assertion; return (client id, None) or (None, problem)."""
        try:
            payload = assertion.split(".")[1]
            unverified = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return None, "The client_assertion is not a valid JWT."
        if not isinstance(unverified, dict):
            return None, "The client_assertion is not a valid JWT."
        client_id = unverified.get("sub")
        public_pem = self.clients.get(client_id) if isinstance(client_id, str) else None
        if public_pem is None:
            return None, "Invalid value for 'client_id' parameter."
        try:
            token = jwt.decode(assertion, _public_key(public_pem), algorithms=SIGNING_ALGORITHMS)
        except JoseError:
            return None, "The client_assertion signature is invalid."
        claims = token.claims
        now = time.time()
        if claims.get("iss") != client_id:
            return None, "The issuer and subject claims in the client_assertion must be the same."
        if claims.get("aud") != self.token_url:
            return None, (
                "The audience claim for client_assertion must be the endpoint invoked for the "
                "request."
            )
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            return None, "The client_assertion token is expired."
        if exp > now + 3600 + 30:
            return None, "The client_assertion token has an expiration too far into the future."
        jti = claims.get("jti")
        with self._lock:
            if isinstance(jti, str) and jti in self._used_jtis:
                return None, "The client_assertion token has already been used."
            if isinstance(jti, str):
                self._used_jtis.add(jti)
        return client_id, None


_HTML = {"Content-Type": "text/html"}


def _public_key(public_pem: str) -> Key:
    loaded = serialization.load_pem_public_key(public_pem.encode())
    return import_key(public_pem, "RSA" if isinstance(loaded, rsa.RSAPublicKey) else "EC")


def _not_found(what: str, kind: str | None = None) -> _Answer:
    detail = f"{what} ({kind})" if kind else what
    return _Answer(404, okta_error("E0000007", f"Not found: Resource not found: {detail}"))


def _method_not_allowed() -> _Answer:
    return _Answer(
        405, okta_error("E0000022", "The endpoint does not support the provided HTTP method")
    )


def _oauth_error(status: int, error: str, description: str) -> _Answer:
    return _Answer(status, {"error": error, "error_description": description})
