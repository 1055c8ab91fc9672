"""Secret handling: random tokens, SHA-256 hashes compared in constant time, Fernet encryption."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def generate_token(prefix: str, nbytes: int = 32) -> str:
    """A random token with ``nbytes`` of entropy, URL-safe, starting with ``prefix``."""
    return prefix + secrets.token_urlsafe(nbytes)


def hash_secret(value: str) -> str:
    """SHA-256 hex digest. Right for high-entropy random secrets (not passwords)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(candidate: str, stored_hash: str | None) -> bool:
    """Whether ``candidate`` hashes to ``stored_hash``, compared in constant time."""
    if not stored_hash:
        return False
    return hmac.compare_digest(hash_secret(candidate), stored_hash)


class DecryptionError(Exception):
    """A stored ciphertext could not be decrypted with any configured key."""


class Encryptor:
    """Encrypts with the first key and decrypts with any, so keys can rotate."""

    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a secret for storage."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """Decrypt a stored secret.

        :raises DecryptionError: when no configured key can decrypt it.
        """
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "stored secret cannot be decrypted with ENCRYPTION_KEYS"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt a stored secret under the first (newest) key."""
        return self._fernet.rotate(ciphertext.encode()).decode()
