"""SCIM users and their lifecycle: provisioning, state changes, enrollment, erasure, and Okta
events that arrived before their user.

Owns every change of a user's state (``lifecycle``). May import ``email`` (invitations),
``okta`` (the desired group membership), ``resources`` and ``platform``.
"""
