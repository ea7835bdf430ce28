"""The written ``.cfg`` runs in a real Lua and passes the docType monitor's ``setup()`` rules.

The rules are those of ``moz_telemetry_doctype_monitor.lua``'s ``setup()`` and of the
``heka.alert`` module it loads (lua_sandbox_extensions), reproduced below in Lua with the same
assertion messages, and run against the table the configuration defines.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lupa")
from lupa import LuaError, LuaRuntime
from pydantic import AwareDatetime, BaseModel, Field

import pingsdk
from pingsdk.monitoring._thresholds import setup_problems

ROOT = Path(__file__).resolve().parents[2]

# heka/modules/heka/alert.lua's checks on `alert`, then the monitor's docType check and
# setup() (channels from moz_telemetry/modules/moz_telemetry/normalize.lua).
SETUP = """
local alert_cfg = alert
assert(type(alert_cfg) == "table", "alert configuration must be a table")
assert(type(alert_cfg.modules) == "table", "alert.modules configuration must be a table")
if alert_cfg.thresholds == nil then alert_cfg.thresholds = {} end
assert(type(alert_cfg.thresholds) == "table",
       "alert.thresholds configuration must be nil or a table")
local throttle = alert_cfg.throttle or 90
assert(type(throttle) == "number" and throttle > 0,
       "alert.throttle configuration must be a number > 0 ")
if not alert_cfg.disabled then
    local empty = true
    for name, mod in pairs(alert_cfg.modules) do
        empty = false
        if name == "email" then
            assert(type(mod.recipients) == "table" and #mod.recipients > 0,
                   "email recipients must be a non-empty table")
            for _, r in ipairs(mod.recipients) do
                assert(type(r) == "string", "recipient must be a string")
            end
        end
    end
    if empty then error("No alert modules were specified") end
end
local docType = docType or error("docType is required")
assert(type(message_matcher) == "string", "message_matcher must be a string")
assert(filename == "moz_telemetry_doctype_monitor.lua", "filename")
assert(ticker_interval == 60 and preserve_data == true, "ticker_interval/preserve_data")

local channels = {}
local names = {"Other", "release", "beta", "nightly", "aurora", "esr"}
for i, name in ipairs(names) do channels[name] = i end

local function numeric(v) return type(v) == "number" end
local function in_range(v, top) return type(v) == "number" and v > 0 and v <= top end

for channel, ccfg in pairs(alert_cfg.thresholds) do
    assert(channels[channel], string.format("invalid channel %s", channel))
    for at, cfg in pairs(ccfg) do
        local function need(ok, what)
            assert(ok, string.format("channel: %s alert: %s must contain a numeric %s",
                                     channel, at, what))
        end
        if at == "volume" then
            need(in_range(cfg.inactivity_timeout, 60), "inactivity_timeout (1-60)")
            if cfg.percent_delta then
                need(in_range(cfg.percent_delta, 100), "percent_delta (1-100)")
            end
        elseif at == "size" then
            need(numeric(cfg.average), "average")
            need(in_range(cfg.percent_delta, 100), "percent_delta (1-100)")
        elseif at == "ingestion_error" or at == "duplicate" then
            need(in_range(cfg.percent, 100), "percent (1-100)")
        elseif at == "shape" then
            need(numeric(cfg.mindist), "mindist")
        elseif at == "latency" then
            need(in_range(cfg.hours, 192), "hours (1-192)")
            need(in_range(cfg.percent, 100), "percent (1-100)")
        else
            error("invalid alert type " .. at)
        end
    end
end
return true
"""

FULL = pingsdk.monitoring.DocTypeMonitor(
    release=pingsdk.monitoring.ChannelThresholds(
        volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5, percent_delta=10),
        size=pingsdk.monitoring.SizeThreshold(average=15529, percent_delta=10),
        ingestion_error=pingsdk.monitoring.IngestionErrorThreshold(percent=0.5),
        duplicate=pingsdk.monitoring.DuplicateThreshold(percent=2),
        shape=pingsdk.monitoring.ShapeThreshold(mindist=0),
        latency=pingsdk.monitoring.LatencyThreshold(hours=24, percent=33),
    ),
    beta=pingsdk.monitoring.ChannelThresholds(
        volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=0.5)
    ),
    nightly=pingsdk.monitoring.ChannelThresholds(
        latency=pingsdk.monitoring.LatencyThreshold(hours=192, percent=100)
    ),
    aurora=pingsdk.monitoring.ChannelThresholds(
        size=pingsdk.monitoring.SizeThreshold(average=1.5, percent_delta=0.25)
    ),
    esr=pingsdk.monitoring.ChannelThresholds(
        duplicate=pingsdk.monitoring.DuplicateThreshold(percent=100)
    ),
    other=pingsdk.monitoring.ChannelThresholds(shape=pingsdk.monitoring.ShapeThreshold(mindist=-1)),
    creation_field="meta.created",
    channel_field="meta.channel",
    recipients=("ops@example.com", 'quote"d\\zoë@example.com'),
    throttle=90,
    prefix=False,
)


class Meta(BaseModel):
    """Metadata (a plain pydantic model)."""

    created: AwareDatetime = Field(description="Creation time.")
    channel: str = Field(description="Release channel.")


class Full(
    pingsdk.Ping,
    namespace="monitoring-test",
    doctype="full-monitor",
    version=1,
    registry=pingsdk.PingRegistry(),
    monitor=FULL,
):
    """A ping with every channel and alert type."""

    meta: Meta = Field(description="Metadata.")


def load(cfg: str) -> Any:
    """Run the configuration as Hindsight does (Lua statements defining globals)."""
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.execute(cfg)
    return lua


def to_python(value: Any) -> Any:
    if hasattr(value, "items"):
        return {k: to_python(v) for k, v in value.items()}
    return value


def test_every_value_round_trips_and_passes_setup() -> None:
    cfg = pingsdk.monitoring.render_monitor_config(Full)
    lua = load(cfg)
    assert lua.execute(SETUP) is True
    g = lua.globals()
    assert g.docType == "full-monitor"
    assert g.message_matcher == (
        'Fields[docType] == "full-monitor" && (Type == "telemetry" || '
        'Type == "telemetry.error" || Type == "telemetry.duplicate")'
    )
    assert g.alert.disabled is False and g.alert.prefix is False and g.alert.throttle == 90
    assert list(g.alert.modules.email.recipients.values()) == [
        "ops@example.com",
        'quote"d\\zoë@example.com',
    ]
    assert to_python(g.alert.thresholds) == FULL.thresholds_table()


@pytest.mark.parametrize(
    ("channel", "alert", "settings", "message"),
    [
        ("release", "volume", "{inactivity_timeout = 0}", "inactivity_timeout (1-60)"),
        ("release", "volume", "{inactivity_timeout = 61}", "inactivity_timeout (1-60)"),
        ("release", "volume", "{inactivity_timeout = 5, percent_delta = 101}", "percent_delta"),
        ("beta", "size", "{percent_delta = 10}", "average"),
        ("beta", "size", "{average = 10, percent_delta = 0}", "percent_delta (1-100)"),
        ("esr", "duplicate", "{percent = -1}", "percent (1-100)"),
        ("Other", "ingestion_error", "{}", "percent (1-100)"),
        ("Other", "shape", "{mindist = 'x'}", "mindist"),
        ("nightly", "latency", "{hours = 193, percent = 5}", "hours (1-192)"),
        ("nightly", "latency", "{hours = 24}", "percent (1-100)"),
    ],
)
def test_lua_and_python_reject_the_same_tables(
    channel: str, alert: str, settings: str, message: str
) -> None:
    lua = LuaRuntime()
    table = f"{{{channel} = {{{alert} = {settings}}}}}"
    lua.execute(
        f"docType = 'x'; message_matcher = 'x'; filename = 'moz_telemetry_doctype_monitor.lua';"
        f"ticker_interval = 60; preserve_data = true;"
        f"alert = {{modules = {{email = {{recipients = {{'a@b.c'}}}}}}, thresholds = {table}}}"
    )
    with pytest.raises(LuaError) as caught:
        lua.execute(SETUP)
    expected = f"channel: {channel} alert: {alert} must contain a numeric {message}"
    assert expected in str(caught.value)
    python = setup_problems(to_python(lua.globals().alert.thresholds))
    assert len(python) == 1 and python[0].startswith(expected)


def test_unknown_channel_and_alert_type_rejected_by_both() -> None:
    for table, message in (
        ("{Release = {shape = {mindist = 0}}}", "invalid channel Release"),
        ("{release = {sizes = {average = 1}}}", "invalid alert type sizes"),
    ):
        lua = LuaRuntime()
        lua.execute(
            "docType = 'x'; message_matcher = 'x'; filename = 'moz_telemetry_doctype_monitor.lua';"
            "ticker_interval = 60; preserve_data = true;"
            f"alert = {{modules = {{email = {{recipients = {{'a@b.c'}}}}}}, thresholds = {table}}}"
        )
        with pytest.raises(LuaError, match=message):
            lua.execute(SETUP)
        assert setup_problems(to_python(lua.globals().alert.thresholds)) == [message]


def test_schema_monitor_cli_writes_valid_configs_for_the_examples(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pingsdk",
            "schema",
            "monitor",
            str(ROOT / "examples" / "pings.py"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["pingsdk-demo-search-counts.cfg", "pingsdk-demo-session-summary.cfg"]
    for path in tmp_path.iterdir():
        lua = load(path.read_text(encoding="utf-8"))
        assert lua.execute(SETUP) is True
        assert lua.globals().docType == path.stem.removeprefix("pingsdk-demo-")
    assert str(tmp_path / "pingsdk-demo-session-summary.cfg") in proc.stdout
