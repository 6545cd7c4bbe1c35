"""Run reports: the report store, CSV/XLSX writers, summaries, artifacts, the report server."""
