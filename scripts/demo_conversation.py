"""Hold a short sales conversation with a running assistant and print it (`make demo`).

It talks through the web channel, as the widget does. To speak as a known customer it asks
the channel for that customer's token with the channel secret, as a shop's server would
(WEB_CHANNEL_SECRET, or the one `make run` keeps in var/secrets/); without the secret it
chats as a new anonymous visitor.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: `python scripts/demo_conversation.py`
    sys.path.insert(0, str(ROOT))

from launcher.settings import StackSettings  # noqa: E402

SCRIPT = ["你好", "蓝牙耳机多少钱", "要", "好的 帮我领一张", "有白色的吗", "包邮吗", "谢谢"]


def channel_secret(settings: StackSettings) -> str:
    """The web channel's secret: the environment's, else the one `make run` generated."""
    path = settings.var_dir / "secrets" / "WEB_CHANNEL_SECRET"
    if not settings.web_channel_secret and path.exists():
        return path.read_text().strip()
    return settings.web_channel_secret


def session_token(settings: StackSettings, url: str, customer_id: str) -> str:
    """A widget token for the customer (with the secret), else for a new visitor."""
    secret = channel_secret(settings)
    headers = {"X-Web-Channel-Secret": secret} if secret else {}
    body = {"customer_id": customer_id} if secret else {}
    answer = requests.post(f"{url}/webhooks/web/session", json=body, headers=headers, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["token"])


def card(custom: object) -> str:
    """A product card as one line ('' for anything else)."""
    if not isinstance(custom, dict) or custom.get("type") not in ("product", "product_card"):
        return ""
    name = custom.get("title") or custom.get("name") or ""
    return f"[商品卡片 {name} ¥{custom.get('price', '')}]"


def main() -> int:
    """Send the scripted messages and print each reply with its buttons."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    try:
        settings = StackSettings.from_env()
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    parser.add_argument("--url", default=settings.rasa_url, help="the Rasa server")
    parser.add_argument("--sender", default="wx-o7Xh2-vip", help="customer id (card profile)")
    args = parser.parse_args()
    try:
        token = session_token(settings, args.url, args.sender)
        for text in SCRIPT:
            answer = requests.post(
                f"{args.url}/webhooks/web/webhook",
                json={"message": text, "message_id": uuid.uuid4().hex},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            answer.raise_for_status()
            print(f"顾客: {text}")
            for reply in answer.json()["messages"]:
                line = reply.get("text") or card(reply.get("custom"))
                if not line:
                    continue
                buttons = " ".join(f"[{b['title']}]" for b in reply.get("buttons") or [])
                print(f"助手: {line}" + (f"  {buttons}" if buttons else ""))
            print()
    except (requests.RequestException, KeyError, ValueError) as error:
        print(
            f"The assistant is not answering at {args.url} ({type(error).__name__}); start it "
            "with `make run`.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
