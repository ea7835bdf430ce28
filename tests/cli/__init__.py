"""Tests of the command line (pingsdk._cli)."""
