"""Integrations (one per Okta org): create, rename, list, delete, and their SCIM tokens.

May import ``users``, ``email`` (branding), ``resources`` and ``platform``.
"""
