"""WeChat channel: official-account message push and mini-program customer-service messages."""

from channels.wechat.channel import WeChatInput, WeChatOutput

__all__ = ["WeChatInput", "WeChatOutput"]
