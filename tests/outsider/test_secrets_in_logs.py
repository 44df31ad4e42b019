"""After every probe above: no log line holds a secret or a customer's phone number."""

from __future__ import annotations

import pytest
import requests

from tests.outsider.conftest import Target

pytestmark = pytest.mark.integration

SECRETS = ("MALL_API_TOKEN", "RASA_API_TOKEN", "HANDOFF_TOKEN", "WEB_CHANNEL_SECRET")


def test_no_secret_and_no_phone_number_is_ever_logged(target: Target) -> None:
    # A customer leaves their number; every process logs something about this conversation.
    token = requests.post(
        f"{target.rasa}/webhooks/web/session",
        json={"customer_id": "web-logs-probe"},
        headers={"X-Web-Channel-Secret": target.secret("WEB_CHANNEL_SECRET")},
        timeout=10,
    ).json()["token"]
    for text in ("转人工", "我电话13987654321 身份证110101199003071234"):
        requests.post(
            f"{target.rasa}/webhooks/web/webhook",
            json={"message": text},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    logs = {
        path.name: path.read_text(errors="replace")
        for path in target.settings.log_dir.glob("*.log")
    }
    assert {"mall.log", "actions.log", "rasa.log", "desk.log"} <= set(logs)
    for name in SECRETS:
        value = target.secret(name)
        assert len(value) >= 16
        leaked = [log for log, text in logs.items() if value in text]
        assert not leaked, f"{name} appears in {leaked}"
    for raw in ("13987654321", "110101199003071234"):
        assert not [log for log, text in logs.items() if raw in text], raw
