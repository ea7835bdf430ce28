"""pingsdk's tests: one package per pingsdk package, so support modules import as ``tests.x.y``."""
