"""Orchestration only: durable workflows, no I/O."""
