"""Delivery: a ping's way from ``submit()`` to the edge, one file per step.

In the order a ping meets them: ``_config`` (the client's settings, typed once), ``_prepare``
(docId, URL, headers, gzip: the request bytes), ``_submit`` (prepare, store in the queue, wake),
``_runner`` (the thread or asyncio task that hosts the engine), ``_engine`` (the loop that claims
due rows and applies outcomes), ``_http`` (TLS, the transport, the Sender that POSTs a row),
``_h11_transport`` (the default HTTP/1.1 transport), ``_outcome`` (what an answer means),
``_retry`` (when to try again; ``_tenacity``: the tenacity objects it computes with, imported
on first use), ``_report`` and ``_stats`` (callbacks, counters, reports).
"""
