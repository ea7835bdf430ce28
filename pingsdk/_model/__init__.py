"""A ping modelled: the :class:`~pingsdk.Ping` base, its data review facts, its registry.

``_ping.py`` is the model and the metaclass that takes its class keywords, ``_keywords.py``
checks those keywords and resolves them into a ``PingInfo``, ``_registry.py`` keeps the
declared classes, ``_payload.py`` proves a payload valid before its bytes are sent,
``_review.py`` holds the data review facts, and ``_loader.py`` finds the ping classes of a
module or file for the CLI and the test kit.
"""
