"""Delivery: a ping's way from ``submit()`` to the edge, one file per step.

``_config`` the settings, ``_prepare`` the request bytes, ``_engine`` the loop that sends due rows,
``_h11_transport`` the default HTTP/1.1 transport, ``_outcome`` what an answer means,
``_retry`` when to try again, ``_stats`` the counters and reports.
"""
