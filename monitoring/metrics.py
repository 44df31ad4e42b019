"""Every metric the assistant exports, defined once (`prometheus_client`'s default registry).

Label values come from small closed sets (channel, route template, operation, outcome):
never a customer id, a product id or free text. Turn latency buckets sit around the SLO
(a turn answered in well under 2 s). Each process exports what it measures plus
`process_resident_memory_bytes` and friends from the client's process collector.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
WAIT_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
CHANNELS = frozenset({"web", "wechat", "rest", "handoff", "socketio", "cmdline"})
# Channels whose safety net answers a failed turn and counts it (kind `no_answer`).
SAFETY_NET_CHANNELS = frozenset({"web", "wechat"})

# Rasa server: one customer message in, the bot's answers out.
TURN_SECONDS = Histogram(
    "assistant_turn_seconds",
    "Time to handle one customer message (NLU, policies, actions), by channel",
    ["channel"],
    buckets=TURN_BUCKETS,
)
TURNS_WAITING = Gauge(
    "assistant_turns_waiting",
    "Customer messages queued for their turn (CONCURRENT_TURNS are worked on at once)",
)
MESSAGES = Counter("assistant_messages_total", "Customer messages handled, by channel", ["channel"])
FALLBACKS = Counter(
    "assistant_fallbacks_total", "Customer messages not understood (nlu_fallback)", ["channel"]
)
TURN_ERRORS = Counter(
    "assistant_turn_errors_total",
    "Customer messages that failed, once each: no answer from the bot so the safety net "
    "apologised (no_answer: web, WeChat), or an exception (other channels)",
    ["channel", "kind"],
)

TRACKER_STORE_FAILURES = Counter(
    "assistant_tracker_store_failures_total",
    "Tracker store calls that failed: Rasa then serves from memory and the record is lost "
    "(retrieve: the conversation starts afresh; save: the turn is not kept)",
    ["operation"],
)

# The event broker (RabbitMQ); the events held back and the queue depth are read at scrape
# time (monitoring/event_broker.py).
EVENT_PUBLISH_FAILURES = Counter(
    "assistant_event_broker_publish_failures_total",
    "Conversation events whose publish to the event broker failed; Rasa keeps them in memory "
    "and publishes them again once it has reconnected",
)

# Action server.
ACTION_SECONDS = Histogram(
    "actions_run_seconds", "Time to run one custom action", ["action"], buckets=CALL_BUCKETS
)
MALL_CALL_SECONDS = Histogram(
    "actions_mall_call_seconds",
    "Calls from the action server to the mall API, by operation and outcome",
    ["operation", "outcome"],
    buckets=CALL_BUCKETS,
)
MALL_CALL_ERRORS = Counter(
    "actions_mall_call_errors_total", "Failed calls to the mall API, by kind", ["kind"]
)
BREAKER_OPEN = Gauge(
    "actions_mall_breaker_open", "1 while the mall API's circuit breaker is open, else 0"
)

# Mall API and desk: every HTTP request.
HTTP_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP requests served, by route template, method and status code",
    ["route", "method", "status"],
    buckets=CALL_BUCKETS,
)

# Mall: the business events.
COUPONS_ISSUED = Counter(
    "mall_coupons_issued_total", "Coupons issued to customers (replays of a key not counted)"
)
HANDOFFS_OPENED = Counter(
    "mall_handoffs_opened_total", "Conversations handed to a person, by reason", ["reason"]
)
HANDOFF_QUEUE_WAIT = Histogram(
    "mall_handoff_queue_wait_seconds",
    "How long a handed-off customer waited until an agent claimed the conversation",
    buckets=WAIT_BUCKETS,
)
# mall_handoffs_waiting and mall_handoff_oldest_wait_seconds are read from the database at
# scrape time (mall/metrics.py).


def channel_label(name: str | None) -> str:
    """A channel name from the closed set (anything else: `other`)."""
    return name if name in CHANNELS else "other"


# Analytics consumer (`python -m analytics consume`): Rasa's events into the facts store.
# The `source` label is the broker (sql, pika, kafka) or `tracker` for recovered events.
ANALYTICS_EVENTS = Counter(
    "analytics_events_consumed_total", "Rasa events stored as facts, once each", ["source"]
)
ANALYTICS_DUPLICATES = Counter(
    "analytics_events_duplicate_total",
    "Events delivered again (redelivery, replay, a second broker) and skipped by their key",
    ["source"],
)
ANALYTICS_FAILURES = Counter(
    "analytics_consumer_failures_total",
    "Consumer failures: bad_event (not a Rasa event, dropped), store (the batch was not "
    "written and will be delivered again), broker (reading the broker failed), profile",
    ["source", "kind"],
)
ANALYTICS_RECOVERED = Counter(
    "analytics_events_recovered_total",
    "Events no broker delivered, read back from Rasa's tracker store: the broker's losses",
)
ANALYTICS_LAG = Gauge(
    "analytics_broker_lag_seconds",
    "While events wait in the broker: now minus the newest event timestamp read (else 0)",
    ["source"],
)
ANALYTICS_BACKLOG = Gauge(
    "analytics_broker_backlog",
    "Events waiting in the broker (SQL broker rows after the position, RabbitMQ queue depth)",
    ["source"],
)
ANALYTICS_NEWEST_EVENT = Gauge(
    "analytics_newest_event_timestamp_seconds",
    "Timestamp of the newest event stored, by source",
    ["source"],
)
