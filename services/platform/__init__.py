"""What every wing stands on: settings, secrets, the audit log, the worker and its claims,
metrics, wake-ups, JSON input rules, backup, restore and transfer.

Imports no other wing (``metrics`` reads the other wings' queues only at scrape time).
"""
