"""Helpers every process on the public surface shares: secrets, rate limits, personal data."""
