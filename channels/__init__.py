"""Rasa input/output channels: web widget, WeChat, and the human-handoff bridge."""
