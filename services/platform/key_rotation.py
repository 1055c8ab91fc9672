"""Re-encrypt every stored secret under the newest of ENCRYPTION_KEYS."""

from __future__ import annotations

from extensions import db
from models import AdminSetup, EmailMessage, Integration, Invitation
from services.platform.settings import encryptor


def reencrypt_all() -> int:
    """Rewrite each encrypted value with the first key; returns how many were rewritten.

    Rotation: put the new key first in ENCRYPTION_KEYS (keep the old one after it), restart,
    run this, then drop the old key.
    """
    crypt = encryptor()
    rewritten = 0
    with db.atomic():
        for integration in Integration.select().where(Integration.okta_secret.is_null(False)):
            integration.okta_secret = crypt.rotate(integration.okta_secret)
            fields = [Integration.okta_secret]
            if integration.okta_dpop_key:
                integration.okta_dpop_key = crypt.rotate(integration.okta_dpop_key)
                fields.append(Integration.okta_dpop_key)
            integration.save(only=fields)
            rewritten += len(fields)
        for invitation in Invitation.select().where(Invitation.token_encrypted.is_null(False)):
            invitation.token_encrypted = crypt.rotate(invitation.token_encrypted)
            invitation.save(only=[Invitation.token_encrypted])
            rewritten += 1
        for message in EmailMessage.select():
            message.text_encrypted = crypt.rotate(message.text_encrypted)
            message.html_encrypted = crypt.rotate(message.html_encrypted)
            message.save(only=[EmailMessage.text_encrypted, EmailMessage.html_encrypted])
            rewritten += 2
        for setup in AdminSetup.select().where(AdminSetup.token_encrypted.is_null(False)):
            setup.token_encrypted = crypt.rotate(setup.token_encrypted)
            setup.save(only=[AdminSetup.token_encrypted])
            rewritten += 1
    return rewritten
