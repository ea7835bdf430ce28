"""Tests of the pytest kit (pingsdk.testing)."""
