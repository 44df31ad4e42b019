"""Hold a short sales conversation with a running assistant and print it (`make demo`)."""

from __future__ import annotations

import argparse
import os
import sys
import uuid

import requests

SCRIPT = [
    ("你好", None),
    ("蓝牙耳机多少钱", None),
    ("要", None),
    ("好的 帮我领一张", None),
    ("有白色的吗", None),
    ("包邮吗", None),
    ("谢谢", None),
]


def main() -> int:
    """Send the scripted messages and print each reply with its buttons."""
    parser = argparse.ArgumentParser(description=__doc__)
    default_url = f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}"
    parser.add_argument("--url", default=default_url, help="the Rasa server")
    parser.add_argument("--sender", default="wx-o7Xh2-vip", help="customer id (card profile)")
    args = parser.parse_args()
    sender = args.sender or f"web-demo-{uuid.uuid4().hex[:8]}"
    for text, metadata in SCRIPT:
        body: dict[str, object] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        try:
            answer = requests.post(f"{args.url}/webhooks/rest/webhook", json=body, timeout=30)
            answer.raise_for_status()
        except requests.RequestException as error:
            print(
                f"The assistant is not answering at {args.url} ({error}); start it with "
                "`make run`.",
                file=sys.stderr,
            )
            return 1
        print(f"顾客: {text}")
        for reply in answer.json():
            line = reply.get("text", "")
            buttons = " ".join(f"[{b['title']}]" for b in reply.get("buttons") or [])
            print(f"助手: {line}" + (f"  {buttons}" if buttons else ""))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
