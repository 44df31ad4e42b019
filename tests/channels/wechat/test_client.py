"""The customer-service API: token refreshed once, refusals surfaced, never retried forever."""

from __future__ import annotations

import pytest

from channels.wechat.client import WeChatApi
from channels.wechat.errors import DeliveryError, OutsideServiceWindow, QuotaExceeded
from channels.wechat.output import WeChatOutput
from channels.wechat.settings import WeChatSettings
from tests.channels.wechat.conftest import APP_ID, APP_SECRET
from tests.channels.wechat.fake_wechat import FakeWeChat

pytestmark = pytest.mark.anyio


def api_for(fake: FakeWeChat, **overrides: str) -> WeChatApi:
    credentials = {
        "token": "t",
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "api_base_url": fake.url,
        **overrides,
    }
    return WeChatApi(WeChatSettings.from_credentials(credentials))


def text(openid: str, content: str) -> dict[str, object]:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}


async def test_expired_token_is_refreshed_once_and_the_message_still_arrives(
    fake_wechat: FakeWeChat,
) -> None:
    api = api_for(fake_wechat)
    await api.send(text("o-1", "第一条"))
    fake_wechat.expire_tokens()
    await api.send(text("o-1", "第二条"))
    assert [m["text"]["content"] for m in fake_wechat.sent_to("o-1")] == ["第一条", "第二条"]
    assert fake_wechat.token_requests == 2


@pytest.mark.parametrize("code", [40001, 40014, 42001])
async def test_a_token_that_stays_rejected_is_not_retried_forever(
    fake_wechat: FakeWeChat, code: int
) -> None:
    api = api_for(fake_wechat)
    fake_wechat.send_errors = [code] * 10
    with pytest.raises(DeliveryError) as failed:
        await api.send(text("o-2", "你好"))
    assert failed.value.errcode == code
    assert len(fake_wechat.send_attempts) == 2  # the call and one retry after a refresh
    assert fake_wechat.token_requests == 2


@pytest.mark.parametrize(("code", "error"), [(45015, OutsideServiceWindow), (45047, QuotaExceeded)])
async def test_window_and_quota_refusals_are_surfaced_without_retrying(
    fake_wechat: FakeWeChat, code: int, error: type[DeliveryError]
) -> None:
    api = api_for(fake_wechat)
    fake_wechat.always_error = code
    with pytest.raises(error):
        await api.send(text("o-3", "你好"))
    assert len(fake_wechat.send_attempts) == 1


async def test_unreachable_api_is_a_delivery_error() -> None:
    settings = WeChatSettings.from_credentials(
        {"token": "t", "app_id": APP_ID, "app_secret": "s", "api_base_url": "http://127.0.0.1:9"}
    )
    with pytest.raises(DeliveryError):
        await WeChatApi(settings).send(text("o-4", "你好"))


async def test_images_are_uploaded_once_and_sent_as_media(fake_wechat: FakeWeChat) -> None:
    settings = WeChatSettings.from_credentials(
        {"token": "t", "app_id": APP_ID, "app_secret": APP_SECRET, "api_base_url": fake_wechat.url}
    )
    output = WeChatOutput(settings, WeChatApi(settings))
    image = {"image": f"{fake_wechat.url}/images/earbuds.png"}
    await output.deliver("o-5", [image, {"text": "实拍图"}, image])
    sent = fake_wechat.sent_to("o-5")
    assert [m["msgtype"] for m in sent] == ["image", "text", "image"]
    assert sent[0]["image"]["media_id"] == sent[2]["image"]["media_id"] == "media-1"
    assert fake_wechat.uploads == 1


async def test_an_image_that_cannot_be_fetched_is_sent_as_its_link(
    fake_wechat: FakeWeChat,
) -> None:
    settings = WeChatSettings.from_credentials(
        {"token": "t", "app_id": APP_ID, "app_secret": APP_SECRET, "api_base_url": fake_wechat.url}
    )
    output = WeChatOutput(settings, WeChatApi(settings))
    await output.deliver("o-6", [{"image": "http://127.0.0.1:9/gone.png"}, {"text": "看看这款"}])
    contents = [m["text"]["content"] for m in fake_wechat.sent_to("o-6")]
    assert contents == ["图片：http://127.0.0.1:9/gone.png", "看看这款"]
