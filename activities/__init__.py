"""Temporal activities: thin, idempotent adapters around persistence, adapters and the domain."""
