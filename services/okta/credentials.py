"""The credentials an integration calls Okta with: an API token, or a service app's private key
(PEM or JWK) with its DPoP key; keys are checked and loaded here, never shown."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from services.okta.errors import OktaTokenError
from services.okta.wire import HEADER_SAFE

_EC_ALGORITHMS: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_EC_CURVES: Final = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_SIGNING_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})


# --- Credentials -------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SswsCredential:
    """An Okta API token, sent as ``Authorization: SSWS <token>``."""

    token: str

    def __post_init__(self) -> None:
        """Strip pasted whitespace; refuse tokens that cannot be a header value.

        :raises ValueError: the token is empty or contains spaces or control characters.
        """
        token = self.token.strip()
        if not HEADER_SAFE.fullmatch(token):
            raise ValueError(
                "The API token is empty or contains spaces or control characters; copy it again."
            )
        object.__setattr__(self, "token", token)

    def __repr__(self) -> str:
        """Name the credential without its secret."""
        return "SswsCredential(token=<hidden>)"


@dataclass(frozen=True, repr=False)
class OAuthCredential:
    """An OAuth 2.0 service app authenticating with private_key_jwt (PEM or JWK private key).

    ``dpop_key`` (JWK JSON, see services.okta.dpop) binds the app's tokens when Okta requires DPoP.
    """

    client_id: str
    private_key: str
    key_id: str | None = None
    dpop_key: str | None = None

    def __post_init__(self) -> None:
        """Strip pasted whitespace.

        :raises ValueError: the client id or the private key is empty.
        """
        client_id = self.client_id.strip()
        if not client_id:
            raise ValueError("The service app's client ID is empty.")
        if not self.private_key.strip():
            raise ValueError("The service app's private key is empty.")
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "key_id", (self.key_id or "").strip() or None)

    def __repr__(self) -> str:
        """Name the credential without its private key."""
        return (
            f"OAuthCredential(client_id={self.client_id!r}, key_id={self.key_id!r}, "
            "private_key=<hidden>, dpop_key=<hidden>)"
        )


Credential = SswsCredential | OAuthCredential


@dataclass(frozen=True)
class _SigningKey:
    key: RSAKey | ECKey
    alg: str
    kid: str | None


def key_error(why: str) -> OktaTokenError:
    return OktaTokenError(
        f"The service app's private key could not be used: {why}. Paste the private key as PEM "
        "(-----BEGIN PRIVATE KEY-----) or as the JSON (JWK) that Okta generated."
    )


def load_signing_key(credential: OAuthCredential) -> _SigningKey:
    """Read the PEM or JWK private key and pick the JWS algorithm Okta accepts for it."""
    text = credential.private_key.strip()
    # Every branch raises "from None": a chained parser error could quote the key.
    try:
        if text.startswith("{"):
            return _load_jwk(text, credential.key_id)
        return _load_pem(text, credential.key_id)
    except OktaTokenError:
        raise
    except TypeError:
        raise key_error("it is encrypted with a passphrase; export it without one") from None
    except (ValueError, UnsupportedAlgorithm, JoseError):
        raise key_error("it is not a valid RSA or EC private key") from None


def _load_pem(text: str, key_id: str | None) -> _SigningKey:
    private = load_pem_private_key(text.encode(), password=None)
    if isinstance(private, rsa.RSAPrivateKey):
        return _SigningKey(RSAKey.import_key(text), "RS256", key_id)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        curve = _EC_CURVES.get(private.curve.name)
        if curve is None:
            raise key_error(f"the curve {private.curve.name} is not one Okta accepts")
        return _SigningKey(ECKey.import_key(text), _EC_ALGORITHMS[curve], key_id)
    raise key_error("Okta accepts only RSA and EC keys")


def _load_jwk(text: str, key_id: str | None) -> _SigningKey:
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        if len(data["keys"]) != 1:
            raise key_error("the JSON holds several keys; paste only the one registered")
        data = data["keys"][0]
    if not isinstance(data, dict):
        raise key_error("the JSON is not a key")
    if "d" not in data:
        raise key_error("it is the public key; paste the private key")
    kid = key_id or (data["kid"] if isinstance(data.get("kid"), str) else None)
    key: RSAKey | ECKey
    if data.get("kty") == "RSA":
        key, default_alg = RSAKey.import_key(data), "RS256"
    elif data.get("kty") == "EC" and data.get("crv") in _EC_ALGORITHMS:
        key, default_alg = ECKey.import_key(data), _EC_ALGORITHMS[data["crv"]]
    else:
        raise key_error("Okta accepts only RSA and EC (P-256/384/521) keys")
    alg = data.get("alg") or default_alg
    if alg not in _SIGNING_ALGORITHMS:
        raise key_error(f"the key's algorithm {alg!r} is not one Okta accepts")
    return _SigningKey(key, alg, kid)
