"""A ping modelled: the :class:`~pingsdk.Ping` base, its data review facts, its registry.

``_ping.py`` is the model and its class keywords, ``_review.py`` the data review facts,
``_loader.py`` finds the ping classes of a module or file for the CLI and the test kit.
"""
