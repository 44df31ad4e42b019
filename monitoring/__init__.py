"""Prometheus metrics for every process: definitions, the guarded /metrics endpoints, hooks."""
