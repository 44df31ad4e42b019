"""The agent console: people take over handed-off conversations here."""
