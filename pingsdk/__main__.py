"""``python -m pingsdk``."""

from pingsdk._cli import main

raise SystemExit(main())
