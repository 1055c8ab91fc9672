"""What the admin pages read and do: dashboard, users list and page, timelines,
troubleshooting, stuck users, rollout, work queue, audit names, and the admin accounts and
sessions themselves.

May import every other wing; no other wing imports it.
"""
