"""The web chat channel and its embeddable widget (credentials.yml: `channels.web.WebInput`)."""

from channels.web.channel import WebInput

__all__ = ["WebInput"]
