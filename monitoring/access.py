"""Who may read /metrics: the holder of METRICS_TOKEN, else only a direct loopback caller.

Metrics are not public: they show traffic, error rates and queue lengths. With METRICS_TOKEN
set, every scrape must carry it (`Authorization: Bearer ...`, as Prometheus'
`authorization.credentials_file` sends it). Without it, only a caller on this machine that did
not come through a proxy may read them: a reverse proxy on the same host would make every
outsider look local, so any forwarding header is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field

from security.settings import ProcessSettings
from security.tokens import bearer_token, require_secret, same_secret

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")


class MetricsSettings(ProcessSettings):
    """The metrics endpoint's credential (empty: loopback only), part of every process."""

    token: str = Field(
        default="",
        env="METRICS_TOKEN",
        repr=False,
        shown="unset: loopback only",
        description="every process's `/metrics` (Rasa: `/webhooks/metrics/`) answers this "
        "bearer token only; unset, only direct loopback callers with no forwarding header "
        "(16+ characters)",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> MetricsSettings:
        """Read METRICS_TOKEN; a set but weak token is refused (SecretError), in any
        environment: Prometheus is configured with it, nothing generates it."""
        settings = super().from_env(environ, **given)
        if settings.token:
            require_secret("METRICS_TOKEN", settings.token)
        return settings


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def may_read_metrics(
    settings: MetricsSettings, peer: str | None, header: Callable[[str], str | None]
) -> bool:
    """Whether a caller at `peer` with these headers may read the metrics."""
    if settings.token:
        return same_secret(bearer_token(header("authorization")), settings.token)
    if any(header(name) for name in FORWARDING_HEADERS):
        return False
    return _loopback(peer)
