"""What the schema tests share besides fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, Any]:
    """A JSON file's object."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
