"""Tests of the ping model and the target loader (pingsdk._model)."""
