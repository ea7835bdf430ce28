"""The public clients: :class:`~pingsdk.PingClient` (threads) and :class:`~pingsdk.AsyncPingClient`.

Thin shells over :mod:`pingsdk._delivery`, which holds every decision they share.
"""
