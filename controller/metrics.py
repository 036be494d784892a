"""Prometheus metrics of one controller process (own registry, no module globals).

Names follow the Prometheus guide: ``huntsman_`` prefix, ``_total`` counters,
``_seconds`` durations.  No call UUIDs or numbers in labels.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.calls = Counter(
            "huntsman_calls_total",
            "Calls handled, by how they ended for the controller.",
            ["result"],  # answered | failed | abandoned | fallback | rejected | error
            registry=r,
        )
        self.plan_latency = Histogram(
            "huntsman_plan_seconds",
            "Time to plan a call (pool wait + routing.start_call).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.connect_to_bridge = Histogram(
            "huntsman_connect_to_bridge_seconds",
            "From accepting the socket to sending the first bridge.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.bridge_outcomes = Counter(
            "huntsman_bridge_outcomes_total",
            "Bridge steps by outcome cause (SUCCESS or the FreeSWITCH failure cause).",
            ["cause"],
            registry=r,
        )
        self.active_calls = Gauge("huntsman_active_calls", "Calls being handled now.", registry=r)
        self.esl_reconnects = Counter(
            "huntsman_esl_reconnects_total",
            "Inbound Event Socket (re)connection attempts after a loss.",
            ["node"],
            registry=r,
        )
        self.cdr_spool_depth = Gauge(
            "huntsman_cdr_spool_depth", "CDRs spooled and not yet in the database.", registry=r
        )
        self.cdr_written = Counter(
            "huntsman_cdr_written_total", "CDRs written to the database.", registry=r
        )
        self.cdr_rejected = Counter(
            "huntsman_cdr_rejected_total",
            "Spooled CDRs the database refused as invalid (kept in rejected.jsonl).",
            registry=r,
        )
        self.queue_calls = Counter(
            "huntsman_queue_calls_total",
            "Queue steps by how they ended (answered, overflow, caller_gone).",
            ["outcome"],
            registry=r,
        )
        self.queue_waves = Counter(
            "huntsman_queue_waves_total", "Waves of agents rung for queued callers.", registry=r
        )
        self.queue_wait = Histogram(
            "huntsman_queue_wait_seconds",
            "Time a caller spent in a queue step (until answered, overflow or hang-up).",
            buckets=(1, 5, 10, 20, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.db_errors = Counter(
            "huntsman_db_errors_total", "Database calls that failed.", ["operation"], registry=r
        )

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)
