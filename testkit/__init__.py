"""What the tests and the benchmarks share: local servers that speak Okta's, SendGrid's,
OpenID Connect's and OSV's wire formats (``fakes``), and the registry of secrets they make,
which no log may show (``leaks``). Not part of the service: nothing outside tests/ and bench/
imports it.
"""
