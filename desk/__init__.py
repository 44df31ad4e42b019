"""The agent desk: everything a browser reaches besides the chat channels (console, demo shop)."""
