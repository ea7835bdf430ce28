"""The public clients: :class:`~pingsdk.PingClient` (threads) and :class:`~pingsdk.AsyncPingClient`.

``_base`` holds everything they share, ``_sync`` and ``_async`` only what blocks or awaits,
``_send_now`` the synchronous ``send_now()`` path; every decision lives in
:mod:`pingsdk._delivery`.
"""
