"""The Kafka path, checked as configuration only: no Kafka server runs on these machines.

What is checked: the consumer's settings refuse what cannot work with a clear message, the
configuration they build is accepted by confluent-kafka (creating a consumer validates every
key and value without connecting), and Rasa reads the documented endpoints block into its
own KafkaEventBroker. What is not: consuming a real topic.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from analytics.settings import AnalyticsSettings, KafkaSettings, SettingsError

GOOD = {
    "ANALYTICS_BROKER": "kafka",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka-1.internal:9092,kafka-2.internal:9092",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "analytics",
    "KAFKA_SASL_PASSWORD": "kafka-password-0123456789",
}


def test_good_settings_build_the_consumer_configuration() -> None:
    settings = AnalyticsSettings.from_env(GOOD)
    assert settings.broker == "kafka" and settings.kafka is not None
    config = settings.kafka.consumer_config()
    assert config["bootstrap.servers"] == GOOD["KAFKA_BOOTSTRAP_SERVERS"]
    assert config["group.id"] == "mall-assistant-analytics"
    assert config["enable.auto.commit"] is False  # offsets only after the facts are stored
    assert config["sasl.mechanism"] == "SCRAM-SHA-512" and config["sasl.username"] == "analytics"
    assert settings.kafka.topic == "rasa_events"
    assert "kafka-password" not in repr(settings)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KAFKA_BOOTSTRAP_SERVERS": ""}, "needs KAFKA_BOOTSTRAP_SERVERS"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "kafka-1.internal"}, "host:port"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "kafka:99999"}, "host:port"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL must be one of"),
        ({"KAFKA_SASL_MECHANISM": "MD5"}, "KAFKA_SASL_MECHANISM must be one of"),
        ({"KAFKA_SASL_PASSWORD": ""}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        ({"ANALYTICS_BROKER": "redis"}, "ANALYTICS_BROKER must be one of"),
    ],
)
def test_bad_settings_are_refused_clearly(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        AnalyticsSettings.from_env({**GOOD, **changes})


def test_confluent_kafka_accepts_the_configuration_without_a_server() -> None:
    confluent = pytest.importorskip("confluent_kafka")
    for env in (GOOD, {"ANALYTICS_BROKER": "kafka", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}):
        config = KafkaSettings.from_env(env).consumer_config()
        consumer = confluent.Consumer(config)  # validates keys and values; connects lazily
        consumer.close()
    with pytest.raises(confluent.KafkaException):
        confluent.Consumer({**config, "security.protocol": "nonsense"})


def test_rasa_reads_the_documented_endpoints_block(tmp_path: Path) -> None:
    from rasa.core.brokers.broker import EventBroker
    from rasa.core.brokers.kafka import KafkaEventBroker
    from rasa.core.utils import read_endpoints_from_path

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "event_broker:\n"
        "  type: kafka\n"
        "  url: kafka-1.internal:9092\n"
        "  topic: rasa_events\n"
        "  partition_by_sender: true\n"
        "  security_protocol: SASL_SSL\n"
        "  sasl_mechanism: SCRAM-SHA-512\n"
        "  sasl_username: analytics\n"
        "  sasl_password: kafka-password-0123456789\n"
    )
    config = read_endpoints_from_path(endpoints).event_broker
    assert config is not None and config.type == "kafka"
    broker = asyncio.run(EventBroker.create(config))  # Rasa connects on the first publish
    assert isinstance(broker, KafkaEventBroker)
    assert broker.topic == "rasa_events" and broker.partition_by_sender is True
    assert broker.security_protocol == "SASL_SSL"
