"""Tests of delivery: the clients, the engine and its transports (pingsdk._delivery, _client)."""
