"""The debug switches Glean users know: ``GLEAN_DEBUG_VIEW_TAG``, ``GLEAN_SOURCE_TAGS``,
``GLEAN_LOG_PINGS``, read once when a :class:`~pingsdk.glean.GleanApp` is created.

As in glean-core, a bad value is logged (ERROR, on logger ``"pingsdk"``) and ignored rather than
raised: a debugging aid must not stop a service from starting.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Mapping

__all__ = ["DebugOptions", "debug_options"]

logger = logging.getLogger("pingsdk")

ENV_DEBUG_VIEW_TAG = "GLEAN_DEBUG_VIEW_TAG"
ENV_SOURCE_TAGS = "GLEAN_SOURCE_TAGS"
ENV_LOG_PINGS = "GLEAN_LOG_PINGS"
_TAG = re.compile(r"^[a-zA-Z0-9-]{1,20}$")
_MAX_SOURCE_TAGS = 5


@dataclasses.dataclass(frozen=True, slots=True)
class DebugOptions:
    """What the environment asked for.

    Attributes:
        debug_view_tag: sent as ``X-Debug-ID`` (routes pings to the Glean Debug Ping Viewer).
        source_tags: sent as ``X-Source-Tags``.
        log_pings: log each stored ping's payload at INFO (Glean's level).
    """

    debug_view_tag: str | None = None
    source_tags: tuple[str, ...] | None = None
    log_pings: bool = False


def debug_options(environ: Mapping[str, str] | None = None) -> DebugOptions:
    """Read the ``GLEAN_*`` variables (default: ``os.environ``)."""
    env = os.environ if environ is None else environ
    tag = env.get(ENV_DEBUG_VIEW_TAG) or None
    if tag is not None and not _TAG.match(tag):
        logger.error(
            "%s ignored: it must be 1-20 characters of letters, digits and '-'", ENV_DEBUG_VIEW_TAG
        )
        tag = None
    tags: tuple[str, ...] | None = None
    raw_tags = env.get(ENV_SOURCE_TAGS) or ""
    if raw_tags:
        candidate = tuple(t.strip() for t in raw_tags.split(","))
        if len(candidate) > _MAX_SOURCE_TAGS or not all(_TAG.match(t) for t in candidate):
            logger.error(
                "%s ignored: give 1-5 comma-separated tags of 1-20 letters, digits and '-'",
                ENV_SOURCE_TAGS,
            )
        elif any(t.lower().startswith("glean") for t in candidate):
            logger.error("%s ignored: tags starting with 'glean' are reserved", ENV_SOURCE_TAGS)
        else:
            tags = candidate
    raw_log = (env.get(ENV_LOG_PINGS) or "").strip().lower()
    if raw_log not in ("", "true", "false"):
        logger.error("%s ignored: it must be 'true' or 'false'", ENV_LOG_PINGS)
    return DebugOptions(debug_view_tag=tag, source_tags=tags, log_pings=raw_log == "true")
