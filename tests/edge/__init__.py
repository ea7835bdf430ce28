"""Tests of the local edge server (pingsdk.edge)."""
