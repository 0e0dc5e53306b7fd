"""Integration tests against a real Synapse and a real PostgreSQL."""
