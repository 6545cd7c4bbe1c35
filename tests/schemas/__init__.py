"""Tests of the data models: the canonical order line schema and the marketplace profile."""
