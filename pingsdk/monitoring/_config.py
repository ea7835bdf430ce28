"""The docType monitor's ``.cfg``: a ping's thresholds written as the Lua table ops deploy.

The format is the sample configuration in the header of ``moz_telemetry_doctype_monitor.lua``
(mozilla-services/lua_sandbox_extensions, ``moz_telemetry``); the Lua sandbox loads it as-is.
"""

from __future__ import annotations

import typing

from pingsdk._exceptions import PingDefinitionError

if typing.TYPE_CHECKING:
    from pingsdk._model._keywords import PingInfo
    from pingsdk._model._ping import Ping

__all__ = ["MONITOR_FILENAME", "monitor_config_name", "render_monitor_config"]

MONITOR_FILENAME = "moz_telemetry_doctype_monitor.lua"
"""The monitor's Hindsight plugin, the ``filename`` of its configuration."""


def monitor_config_name(info: PingInfo) -> str:
    """``<namespace>-<doctype>.cfg``, the file ``pingsdk schema monitor`` writes for a ping."""
    return f"{info.namespace}-{info.doctype}.cfg"


def _lua_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _lua_string(value: str) -> str:
    # Lua's decimal escapes (\ddd, one byte each) for quotes, backslashes, control bytes and
    # non-ASCII UTF-8 bytes: the file stays ASCII and loads the same in any Lua.
    out = []
    for byte in value.encode("utf-8"):
        plain = 32 <= byte < 127 and byte not in (34, 92)
        out.append(chr(byte) if plain else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def render_monitor_config(ping_cls: type[Ping]) -> str:
    """The docType monitor ``.cfg`` of a ping declared with ``monitor=``, as Lua text.

    The format is the sample configuration in ``moz_telemetry_doctype_monitor.lua``'s header;
    the Lua sandbox loads it as-is. Raises :class:`PingDefinitionError` for a ping without
    ``monitor=``.
    """
    from pingsdk._version import __version__

    info = ping_cls.ping_info()
    monitor = info.monitor
    if monitor is None:
        raise PingDefinitionError(
            f"{ping_cls.__qualname__} declares no monitor=pingsdk.monitoring.DocTypeMonitor(...)"
        )
    lines = [
        f"-- docType monitor of {info.namespace}/{info.doctype} ({ping_cls.__qualname__}),",
        f"-- written by pingsdk {__version__}: a Hindsight analysis plugin configuration for",
        f"-- {MONITOR_FILENAME} (mozilla-services/lua_sandbox_extensions, moz_telemetry).",
        "-- Fields[appUpdateChannel] <- "
        + (monitor.channel_field or "(not set: every submission counts as Other)"),
        "-- Fields[creationTimestamp] <- " + (monitor.creation_field or "(not set: latency is 0)"),
        f"filename = '{MONITOR_FILENAME}'",
        f"docType = {_lua_string(info.doctype)}",
        'message_matcher = \'Fields[docType] == "\'.. docType .. \'" && (Type == "telemetry" '
        '|| Type == "telemetry.error" || Type == "telemetry.duplicate")\'',
        "ticker_interval = 60",
        "preserve_data = true",
        "",
        "alert = {",
        f"  disabled = {'true' if monitor.disabled else 'false'},",
        f"  prefix = {'true' if monitor.prefix else 'false'},",
        f"  throttle = {_lua_number(monitor.throttle)},",
        "  modules = {",
        "    email = {recipients = {"
        + ", ".join(_lua_string(r) for r in monitor.recipients)
        + "}},",
        "  },",
        "",
        "  thresholds = { -- map of normalized channel names",
    ]
    for channel, row in monitor.thresholds_table().items():
        lines.append(f"    {channel} = {{")
        for alert, settings in row.items():
            body = ", ".join(f"{k} = {_lua_number(v)}" for k, v in settings.items())
            lines.append(f"      {alert} = {{{body}}},")
        lines.append("    },")
    lines += ["  }", "}", ""]
    return "\n".join(lines)
