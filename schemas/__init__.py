"""Data models: marketplace profiles, canonical order lines and the Post Orders contract."""
