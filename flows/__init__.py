"""Prefect flows, their tasks, the CLI and all file I/O."""
