"""Uniware Post Orders: the async client, delivery (throttle, retry, ledger) and a local sandbox."""
