"""Business rules, as keyword-only functions that take a session."""
