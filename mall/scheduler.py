"""The proactive-message scheduler: rules make jobs due, guards decide, Rasa delivers.

One pass (`run_once`): every rule's causes become jobs (once per customer, rule and cause);
due jobs are claimed (each by one scheduler); each claimed job passes the guards in order —
opted out of marketing (skipped), an open handoff (postponed), ordered since the cause
(skipped), quiet hours (postponed until they end), the frequency caps (skipped) — and is then
delivered. Delivery goes through Rasa (`POST /conversations/{id}/trigger_intent` with an
external intent), so the message is part of the conversation and the customer's answer
continues it. Every decision is stored on the job.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mall.db import Database
from mall.models import BehaviourEvent, Customer, Handoff, OutreachJob, utcnow
from mall.outreach import Guards, Rule
from mall.services.outreach import claim_due, decide, did_since, find_causes, schedule

logger = logging.getLogger(__name__)

PROACTIVE_INTENT = "EXTERNAL_proactive_offer"
HANDOFF_RETRY = timedelta(minutes=30)
DELIVERY_RETRY = timedelta(minutes=5)
# WeChat lets an official account write to a customer through its customer-service API only
# within 48 hours of the customer's last message.
WECHAT_WINDOW = timedelta(hours=48)
WECHAT_CHANNEL = "wechat"


@dataclass(frozen=True)
class Delivery:
    sent: bool
    reason: str | None = None
    retry: bool = False  # a passing failure (Rasa unreachable): try again later


class Deliverer(Protocol):
    def deliver(
        self, job: OutreachJob, rule: Rule, *, product_id: str | None = None, now: datetime
    ) -> Delivery: ...


@dataclass(frozen=True)
class Reach:
    """How the customer can be reached: their latest channel and their latest own message."""

    channel: str | None
    last_message_at: datetime | None


@dataclass
class RasaDeliverer:
    """Triggers the external intent in the customer's conversation through Rasa's HTTP API.

    Rasa says it through the channel the customer last wrote from (`output_channel=latest`):
    WeChat's customer-service API, the web widget (the open one at once, else on the next
    visit, since the message is in the conversation), socket.io. WeChat customers whose last
    message is older than WeChat's 48-hour window are skipped with that reason.
    """

    rasa_url: str
    token: str
    timeout: float = 5.0

    def deliver(
        self, job: OutreachJob, rule: Rule, *, product_id: str | None = None, now: datetime
    ) -> Delivery:
        try:
            reach = self.reach(job.customer_id)
        except requests.RequestException as error:
            return Delivery(False, f"Rasa unreachable: {type(error).__name__}", retry=True)
        except _RasaAnswered as error:
            return Delivery(False, str(error), retry=error.status >= 500)
        if reach.channel == WECHAT_CHANNEL and (
            reach.last_message_at is None or now - reach.last_message_at > WECHAT_WINDOW
        ):
            return Delivery(False, "outside WeChat's 48-hour window")
        entities = {"outreach_rule": rule.id, "outreach_offer": rule.offer}
        if product_id:
            entities["outreach_product"] = product_id
        try:
            answer = requests.post(
                f"{self.rasa_url}/conversations/{job.customer_id}/trigger_intent",
                params={"token": self.token, "output_channel": "latest"},
                json={"name": PROACTIVE_INTENT, "entities": entities},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            return Delivery(False, f"Rasa unreachable: {type(error).__name__}", retry=True)
        if answer.status_code == 200:
            return Delivery(True, f"via {reach.channel or 'the conversation'}")
        if answer.status_code >= 500:
            return Delivery(False, f"Rasa answered {answer.status_code}", retry=True)
        return Delivery(False, f"Rasa refused: {answer.status_code}")

    def reach(self, customer_id: str) -> Reach:
        """The customer's latest input channel and own message time, from their tracker."""
        answer = requests.get(
            f"{self.rasa_url}/conversations/{customer_id}/tracker",
            params={"token": self.token, "include_events": "AFTER_RESTART"},
            timeout=self.timeout,
        )
        if answer.status_code != 200:
            raise _RasaAnswered(answer.status_code)
        tracker = answer.json()
        last: float | None = None
        for event in reversed(tracker.get("events") or []):
            if event.get("event") != "user":
                continue
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if str(intent.get("name") or "").startswith("EXTERNAL_"):
                continue  # our own earlier offers are not the customer writing
            last = event.get("timestamp")
            break
        return Reach(
            channel=tracker.get("latest_input_channel"),
            last_message_at=datetime.fromtimestamp(last, timezone.utc) if last else None,
        )


class _RasaAnswered(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"Rasa answered {status} for the conversation")
        self.status = status


def run_once(
    database: Database,
    rules: Sequence[Rule],
    deliverer: Deliverer,
    *,
    worker: str,
    guards: Guards | None = None,
    now: datetime | None = None,
) -> Counter[str]:
    """One pass of the scheduler; what it decided, counted ("sent", "skipped: ...", ...)."""
    guards = guards or Guards()
    now = now or utcnow()
    decided: Counter[str] = Counter()
    with database.write_session() as session:
        for rule in rules:
            for cause in find_causes(session, rule, now=now):
                if schedule(
                    session,
                    customer_id=cause.customer_id,
                    rule_id=rule.id,
                    cause=cause.cause,
                    due_at=cause.due_at,
                ):
                    decided["scheduled"] += 1
    by_id = {rule.id: rule for rule in rules}
    for job_id in claim_due(database, worker=worker, now=now):
        outcome = _decide_one(database, job_id, by_id, deliverer, guards, worker, now)
        decided[outcome] += 1
    return decided


def _decide_one(
    database: Database,
    job_id: int,
    rules: dict[str, Rule],
    deliverer: Deliverer,
    guards: Guards,
    worker: str,
    now: datetime,
) -> str:
    with database.read_session() as session:
        job = session.get(OutreachJob, job_id)
        assert job is not None
        session.expunge(job)
        customer = session.get(Customer, job.customer_id)
        rule = rules.get(job.rule_id)
        open_handoff = session.scalar(
            select(Handoff.id)
            .where(Handoff.sender_id == job.customer_id, Handoff.status != "closed")
            .limit(1)
        )
        ordered = rule is not None and rule.absent == "order" and _ordered_since_cause(session, job)
        product_id = _cause_product(session, job)
        sent_before = list(
            session.scalars(
                select(OutreachJob.decided_at).where(
                    OutreachJob.customer_id == job.customer_id,
                    OutreachJob.status == "sent",
                    OutreachJob.decided_at > now - timedelta(days=7),
                )
            )
        )
    if rule is None:
        return _skip(database, job_id, worker, now, "the rule is gone")
    if customer is None or "marketing" in (customer.opt_outs or []):
        return _skip(database, job_id, worker, now, "opted out")
    if open_handoff is not None:
        return _postpone(database, job_id, worker, now + HANDOFF_RETRY, "handed off")
    if ordered:
        return _skip(database, job_id, worker, now, "ordered since")
    allowed = guards.next_allowed(now, customer.time_zone)
    if allowed > now:
        return _postpone(database, job_id, worker, allowed, "quiet hours")
    capped = guards.over_cap(now, [at for at in sent_before if at is not None])
    if capped:
        return _skip(database, job_id, worker, now, capped)
    delivery = deliverer.deliver(job, rule, product_id=product_id, now=now)
    if delivery.retry:
        return _postpone(database, job_id, worker, now + DELIVERY_RETRY, delivery.reason or "")
    if delivery.sent:
        decide(database, job_id=job_id, worker=worker, sent=True, reason=delivery.reason, now=now)
        return "sent"
    return _skip(database, job_id, worker, now, delivery.reason or "not delivered")


def _skip(database: Database, job_id: int, worker: str, now: datetime, reason: str) -> str:
    decide(database, job_id=job_id, worker=worker, sent=False, reason=reason, now=now)
    return f"skipped: {reason}"


def _postpone(database: Database, job_id: int, worker: str, until: datetime, reason: str) -> str:
    """Give the job back, due again at `until` (the reason stays on it until then)."""
    with database.write_session() as session:
        session.execute(
            update(OutreachJob)
            .where(
                OutreachJob.id == job_id,
                OutreachJob.status == "claimed",
                OutreachJob.claimed_by == worker,
            )
            .values(status="pending", due_at=until, claimed_by=None, claimed_at=None, reason=reason)
            .execution_options(synchronize_session=False)
        )
    return f"postponed: {reason}"


def _cause_product(session: Session, job: OutreachJob) -> str | None:
    """The product of the event that caused the job ("consult:<id>", "stock:<id>"), if any."""
    _kind, _, event_id = job.cause.partition(":")
    if not event_id.isdigit():
        return None
    product_id = session.scalar(
        select(BehaviourEvent.product_id).where(BehaviourEvent.id == int(event_id))
    )
    return str(product_id) if product_id else None


def _ordered_since_cause(session: Session, job: OutreachJob) -> bool:
    """Whether the customer ordered after the event that caused the job ("consult:<id>")."""
    _kind, _, event_id = job.cause.partition(":")
    started = (
        session.scalar(select(BehaviourEvent.occurred_at).where(BehaviourEvent.id == int(event_id)))
        if event_id.isdigit()
        else None
    )
    return started is not None and did_since(session, job.customer_id, "order", started)
