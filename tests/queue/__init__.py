"""Tests of the on-disk queue (pingsdk._queue)."""
