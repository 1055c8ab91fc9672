"""Use cases, adapters and read models, in wings by domain.

Each wing's docstring says what it owns and what it may import. Across wings, imports point
toward ``platform`` (``admin`` → ``integrations`` → ``groups`` → ``users`` → ``email``/``okta``
→ ``resources`` → ``platform``, with the exceptions each wing names); ``services`` never
imports ``blueprints`` or ``hooks``. ``errors`` (the domain errors) is shared by every wing.
"""
