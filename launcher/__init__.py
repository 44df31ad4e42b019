"""Starts, trains and supervises the assistant's processes (mall service, action server, Rasa)."""
