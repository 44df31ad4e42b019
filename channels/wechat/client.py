"""The customer-service message API (客服消息) with one shared access token."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import redis  # type: ignore[import-untyped]
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from channels.wechat.errors import DeliveryError, OutsideServiceWindow, QuotaExceeded
from channels.wechat.settings import WeChatSettings

logger = logging.getLogger(__name__)

# invalid credential, invalid token, expired token: a new token may fix these, once.
TOKEN_ERRORS = {40001, 40014, 42001}
OUTSIDE_WINDOW = 45015
QUOTA = 45047
HTTP_TIMEOUT = 5.0
# WeChat takes images up to 10 MB for temporary media; product photos are far smaller.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
# Temporary media lives 3 days; reuse an upload for a little less.
MEDIA_TTL = 2 * 24 * 3600


class _TimeoutSession(requests.Session):
    """Every call gets a timeout (wechatpy fetches tokens without one)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send with the default timeout unless one is given."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().request(method, url, *args, **kwargs)


class _Client(WeChatClient):
    """wechatpy's client with a configurable API base (tests point it at a fake server)."""

    def __init__(self, settings: WeChatSettings, session: SessionStorage) -> None:
        super().__init__(
            settings.app_id,
            settings.app_secret,
            session=session,
            timeout=HTTP_TIMEOUT,
            # We refresh an expired token once ourselves; wechatpy would retry without limit.
            auto_retry=False,
        )
        self.API_BASE_URL = f"{settings.api_base_url}/cgi-bin/"
        self._http = _TimeoutSession(HTTP_TIMEOUT)

    def fetch_access_token(self) -> dict[str, Any]:
        """A new access token from the configured API base."""
        result: dict[str, Any] = self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
        return result


class WeChatApi:
    """Sends customer-service messages; the token is shared through Redis when configured."""

    def __init__(self, settings: WeChatSettings, redis_client: redis.Redis | None = None) -> None:
        if redis_client is None and settings.redis_url:
            redis_client = redis.Redis.from_url(settings.redis_url, socket_timeout=2.0)
        session: SessionStorage = (
            RedisStorage(redis_client, prefix=f"wechat:{settings.app_id}")
            if redis_client is not None
            else MemoryStorage()
        )
        self._client = _Client(settings, session)
        self._media: dict[str, str] = {}

    async def send(self, message: dict[str, Any]) -> None:
        """Send one custom/send message without blocking the event loop."""
        await asyncio.to_thread(self.send_now, message)

    async def upload_image(self, url: str) -> str:
        """The media id of the image at `url`, uploading it when not done recently."""
        return await asyncio.to_thread(self.upload_image_now, url)

    def send_now(self, message: dict[str, Any]) -> None:
        """Send one custom/send message (blocking)."""
        self._call("message/custom/send", data=message)

    def upload_image_now(self, url: str) -> str:
        """Download an image and upload it as temporary media (blocking)."""
        cached = self._media.get(url)
        if cached:
            return cached
        content, content_type = _download_image(url)
        name = "image." + (content_type.split("/")[-1] or "jpg")
        result = self._call(
            "media/upload",
            params={"type": "image"},
            files={"media": (name, io.BytesIO(content), content_type)},
        )
        media_id = str(result.get("media_id") or "")
        if not media_id:
            raise DeliveryError(None, "media upload returned no media_id")
        self._media[url] = media_id
        return media_id

    def _call(self, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        token = self._token()
        try:
            return self._post(endpoint, token, **kwargs)
        except DeliveryError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            logger.info("WeChat rejected the access token (%s); refreshing it once", exc.errcode)
            self._refresh(token)
            return self._post(endpoint, self._token(), **kwargs)

    def _post(self, endpoint: str, token: str, **kwargs: Any) -> dict[str, Any]:
        params = dict(kwargs.pop("params", {}), access_token=token)
        try:
            result = self._client.post(endpoint, params=params, **kwargs)
        except WeChatClientException as exc:
            raise _delivery_error(exc.errcode, str(exc.errmsg)) from exc
        except requests.RequestException as exc:
            raise DeliveryError(None, f"WeChat API unreachable: {exc}") from exc
        return result if isinstance(result, dict) else {}

    def _token(self) -> str:
        try:
            return str(self._client.access_token)
        except WeChatClientException as exc:
            raise DeliveryError(exc.errcode, f"no access token: {exc.errmsg}") from exc
        except requests.RequestException as exc:
            raise DeliveryError(None, f"no access token, WeChat unreachable: {exc}") from exc

    def _refresh(self, rejected: str) -> None:
        # Another process may have refreshed the shared token already; using theirs avoids
        # a stampede of refreshes (each invalidates the previous token within minutes).
        current = self._client.session.get(self._client.access_token_key)
        if current and current != rejected:
            return
        try:
            self._client.fetch_access_token()
        except WeChatClientException as exc:
            raise DeliveryError(exc.errcode, f"token refresh failed: {exc.errmsg}") from exc
        except requests.RequestException as exc:
            raise DeliveryError(None, f"token refresh failed: {exc}") from exc


def _delivery_error(errcode: Any, errmsg: str) -> DeliveryError:
    code = int(errcode) if isinstance(errcode, int | str) and str(errcode).isdigit() else None
    if code == OUTSIDE_WINDOW:
        return OutsideServiceWindow(code, "the customer has not written in the last 48 hours")
    if code == QUOTA:
        return QuotaExceeded(code, "too many messages since the customer last wrote")
    return DeliveryError(code, errmsg)


def _download_image(url: str) -> tuple[bytes, str]:
    try:
        with requests.get(url, timeout=HTTP_TIMEOUT, stream=True) as answer:
            answer.raise_for_status()
            content_type = answer.headers.get("Content-Type", "image/jpeg").split(";")[0]
            if not content_type.startswith("image/"):
                raise DeliveryError(None, f"{url} is not an image ({content_type})")
            content = answer.raw.read(MAX_IMAGE_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise DeliveryError(None, f"cannot download image {url}: {exc}") from exc
    if len(content) > MAX_IMAGE_BYTES:
        raise DeliveryError(None, f"image {url} is larger than {MAX_IMAGE_BYTES} bytes")
    return content, content_type
