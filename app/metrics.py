"""Prometheus metrics of one hub process (its own registry, so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_in = Counter(
            "govchat_messages_in", "Citizen messages accepted", ["channel"], registry=r
        )
        self.messages_out = Counter(
            "govchat_messages_out", "Messages delivered", ["channel", "via"], registry=r
        )
        self.delivery_failures = Counter(
            "govchat_delivery_failures", "Messages given up on", ["channel", "reason"], registry=r
        )
        self.delivery_retries = Counter("govchat_delivery_retries", "Retried sends", ["channel"], registry=r)
        self.work_failures = Counter(
            "govchat_work_failures", "Events the bot gave up on after repeated errors", registry=r
        )
        self.escalations = Counter(
            "govchat_escalations", "Conversations escalated", ["department", "reason"], registry=r
        )
        self.decisions = Counter("govchat_decisions", "Policy decisions", ["action"], registry=r)
        self.nlu_latency = Histogram(
            "govchat_nlu_latency_seconds",
            "NLU parse latency",
            ["engine"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.reply_latency = Histogram(
            "govchat_reply_latency_seconds",
            "Accepted message to stored answer",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.queue_depth = Gauge("govchat_queue_depth", "Accepted events not yet handled", registry=r)
        self.waiting_conversations = Gauge(
            "govchat_waiting_conversations", "Conversations waiting for an officer", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
