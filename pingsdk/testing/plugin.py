"""pytest plugin entry point (``pytest11``): pingsdk fixtures. Imported by every pytest run
where pingsdk is installed, so it stays cheap: fixtures only, nothing autouse."""

from __future__ import annotations
