"""Delivery: a ping's way from ``submit()`` to the edge, one file per step.

In the order a ping meets them: ``_config`` the settings (written once, checked once),
``_prepare`` the request bytes, ``_submit`` the submit path (prepare -> queue.put or the buffer
-> wake), ``_runner`` the thread or task that hosts the engine, ``_engine`` the loop that claims
due rows, sends them and applies outcomes, ``_http`` TLS, transport and one POST (``Sender``),
``_h11_transport`` the default HTTP/1.1 transport, ``_outcome`` what an answer means, ``_retry``
when to try again, ``_report`` counters, log lines and callbacks, ``_stats`` their types.
"""
