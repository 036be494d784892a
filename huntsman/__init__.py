"""Huntsman operations tooling: the `huntsman` CLI, the migration runner, the embedded database."""
