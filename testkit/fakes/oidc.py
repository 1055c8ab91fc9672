"""A local OpenID Connect provider (an Okta org's authorization server), for sign-in tests."""

from __future__ import annotations

import json
import secrets
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from testkit import leaks
from testkit.fakes.local_server import LocalServer


class FakeOidc(LocalServer):
    """Serves discovery, JWKS and a token endpoint; ``issue_code`` decides who signs in."""

    def __init__(self, client_id: str = "admin-console", client_secret: str = "s3cret") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        leaks.register("Okta client secret", client_secret)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests = 0

    @property
    def issuer(self) -> str:
        """The issuer URL (http on localhost, which authlib allows for tests)."""
        return f"http://localhost:{self.server_port}"

    def issue_code(self, nonce: str, **claims: Any) -> str:
        """An authorization code that signs in a person with these claims."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": nonce, **claims}
        return code

    def _id_token(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, payload, self.key)

    def __enter__(self) -> FakeOidc:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": fake.issuer,
                            "authorization_endpoint": f"{fake.issuer}/authorize",
                            "token_endpoint": f"{fake.issuer}/token",
                            "jwks_uri": f"{fake.issuer}/keys",
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                        },
                    )
                elif path == "/keys":
                    self._json(200, {"keys": [fake.key.as_dict(private=False)]})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.token_requests += 1
                claims = fake.codes.pop(form.get("code", ""), None)
                secret_ok = form.get("client_secret") == fake.client_secret or (
                    self.headers.get("Authorization", "").startswith("Basic ")
                )
                if claims is None or not secret_ok:
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(
                    200,
                    {
                        "access_token": secrets.token_urlsafe(16),
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "scope": "openid email profile groups",
                        "id_token": fake._id_token(claims),
                    },
                )

        self.serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        return self
