"""Who may read /metrics: the holder of METRICS_TOKEN, else only a direct loopback caller.

Metrics are not public: they show traffic, error rates and queue lengths. With METRICS_TOKEN
set, every scrape must carry it (`Authorization: Bearer ...`, as Prometheus'
`authorization.credentials_file` sends it). Without it, only a caller on this machine that did
not come through a proxy may read them: a reverse proxy on the same host would make every
outsider look local, so any forwarding header is refused.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from security.tokens import bearer_token, require_secret, same_secret

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")


@dataclass(frozen=True)
class MetricsSettings:
    """The metrics endpoint's credential (empty: loopback only)."""

    token: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetricsSettings:
        """Read METRICS_TOKEN; a set but weak token is refused (SecretError)."""
        raw = (os.environ if environ is None else environ).get("METRICS_TOKEN", "").strip()
        return cls(token=require_secret("METRICS_TOKEN", raw) if raw else "")


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
