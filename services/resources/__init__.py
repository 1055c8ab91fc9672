"""What SCIM users and groups share in storage: the attribute-to-column map, listing in SQL,
bounded bodies, and the versions (ETags) that users and groups show each other.

May import ``platform`` only.
"""
