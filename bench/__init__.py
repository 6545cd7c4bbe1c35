"""Benchmarks and the deterministic export generator they (and the committed samples) use."""
