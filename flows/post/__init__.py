"""Sending to Uniware: a run's posting, the rate limit workers share, the sync step."""
