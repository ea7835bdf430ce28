"""The docType monitor story: a ping's alert thresholds, as the configuration ops deploy.

Give a ping ``monitor=DocTypeMonitor(...)`` when you model it; :func:`render_monitor_config`
writes the thresholds as the pipeline's docType monitor ``.cfg`` file, and the local edge
(``pingsdk serve``) raises the same alerts the production monitor would.
"""

from __future__ import annotations

from pingsdk._lazy import say_module
from pingsdk.monitoring._config import render_monitor_config
from pingsdk.monitoring._thresholds import (
    ChannelThresholds,
    DocTypeMonitor,
    DuplicateThreshold,
    IngestionErrorThreshold,
    LatencyThreshold,
    ShapeThreshold,
    SizeThreshold,
    VolumeThreshold,
)

__all__ = [
    "ChannelThresholds",
    "DocTypeMonitor",
    "DuplicateThreshold",
    "IngestionErrorThreshold",
    "LatencyThreshold",
    "ShapeThreshold",
    "SizeThreshold",
    "VolumeThreshold",
    "render_monitor_config",
]

for _name in __all__:
    say_module(globals()[_name], __name__)
del _name
