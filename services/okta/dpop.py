"""DPoP proofs (RFC 9449): the key an integration's Okta tokens are bound to, and the signed
proof that goes with each token request and each API call (docs/okta.md §4.2).

Signing is joserfc's; this module only chooses the claims.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

__all__ = ["ALGORITHM", "DPoPKey", "access_token_hash", "generate_key", "target_uri"]

#: ES256 on P-256: small proofs, fast to sign, accepted by every DPoP server.
ALGORITHM: Final = "ES256"
_CURVE: Final = "P-256"


def generate_key() -> str:
    """A fresh private key, as JWK JSON (store it encrypted: it is a secret)."""
    key = ECKey.generate_key(_CURVE, private=True)
    return json.dumps(key.as_dict(private=True), sort_keys=True)


def access_token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url (no padding) of the SHA-256 of the access token."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def target_uri(url: str) -> str:
    """The ``htu`` claim: the request URL without its query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass(frozen=True, repr=False)
class DPoPKey:
    """One integration's DPoP key pair; ``proof`` signs a proof for one HTTP request."""

    key: ECKey

    @classmethod
    def from_json(cls, text: str) -> DPoPKey:
        """Load a key made by :func:`generate_key`.

        :raises ValueError: the text is not an EC P-256 private JWK.
        """
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("crv") != _CURVE or "d" not in data:
                raise ValueError("not an EC P-256 private key")
            return cls(ECKey.import_key(data))
        except (JoseError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError("the stored DPoP key cannot be read") from exc

    def __repr__(self) -> str:
        """Name the key by its public thumbprint, never its private part."""
        return f"DPoPKey(thumbprint={self.thumbprint!r})"

    @property
    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint of the public key (what a bound token's ``jkt`` holds)."""
        return str(self.key.thumbprint())

    def proof(
        self,
        method: str,
        url: str,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """A proof for one request: ``htm``, ``htu``, ``iat``, a fresh ``jti``, and the
        server's ``nonce`` and the token's hash ``ath`` when given."""
        header = {
            "typ": "dpop+jwt",
            "alg": ALGORITHM,
            "jwk": self.key.as_dict(private=False),
        }
        claims: dict[str, object] = {
            "htm": method.upper(),
            "htu": target_uri(url),
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(24),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        return jwt.encode(header, claims, self.key, algorithms=[ALGORITHM])
