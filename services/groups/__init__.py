"""SCIM groups pushed by Okta: create, replace, patch members by delta, delete, read, list.

May import ``users`` (members are users), ``resources`` and ``platform``.
"""
