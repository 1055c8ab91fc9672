"""Okta's Management API and everything kept in step with it: an integration's Okta settings,
the client (OAuth with DPoP, or an API token), the passwordless group's membership, the grant
checks, reconciliation, the credential check and the Event Hook secret.

May import ``platform``; ``group_sync`` also uses ``users.erasure`` to forget an erased
user's Okta id.
"""
