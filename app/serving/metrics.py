"""The Prometheus metrics of one API process, in a registry of its own."""

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "adaptd_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "adaptd_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "adaptd_predict_batch_size_texts",
            "Texts per forward pass of the micro-batcher.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.batch_requests = Histogram(
            "adaptd_predict_batch_requests",
            "Predict requests gathered into one forward pass.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "adaptd_predict_batch_duration_seconds",
            "Time of one forward pass of the micro-batcher.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "adaptd_predict_queue_texts",
            "Texts waiting for a forward pass, by batching lane (a model, or a shared base).",
            ["lane"],
            registry=registry,
        )
        self.rejected = Counter(
            "adaptd_predict_rejected",
            "Predict requests answered 503: the lane's queue was full, or the request timed out.",
            ["reason"],
            registry=registry,
        )
        self.cache_hits = Counter(
            "adaptd_model_cache_hits", "Predictions served by a loaded model.", registry=registry
        )
        self.cache_misses = Counter(
            "adaptd_model_cache_misses", "Model loads on a request.", registry=registry
        )
        self.cache_evictions = Counter(
            "adaptd_model_cache_evictions",
            "Models dropped from the cache to stay within its bounds.",
            registry=registry,
        )
        self.cache_models = Gauge(
            "adaptd_model_cache_models", "Models loaded in the cache.", registry=registry
        )
        self.cache_bytes = Gauge(
            "adaptd_model_cache_bytes",
            "Weights held by the cached models alone (shared base encoders not counted).",
            registry=registry,
        )
        self.shared_encoder_bytes = Gauge(
            "adaptd_shared_encoder_bytes",
            "Weights of the base encoders shared between models.",
            registry=registry,
        )

    def watch_jobs(self, count_jobs: Callable[[], dict[str, int]]) -> None:
        """Report jobs by state, counted when the metrics are scraped."""
        self.registry.register(JobStates(count_jobs))

    def watch_retention(self, read_tallies: Callable[[], dict[str, int]]) -> None:
        """Report what the retention sweeps removed, read when the metrics are scraped."""
        self.registry.register(RetentionTallies(read_tallies))


class RetentionTallies(Collector):
    def __init__(self, read_tallies: Callable[[], dict[str, int]]) -> None:
        self.read_tallies = read_tallies

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "adaptd_retention_removed", "Rows removed by retention, by rule.", labels=["rule"]
        )
        for rule, removed in sorted(self.read_tallies().items()):
            family.add_metric([rule], removed)
        yield family


class JobStates(Collector):
    def __init__(self, count_jobs: Callable[[], dict[str, int]]) -> None:
        self.count_jobs = count_jobs

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("adaptd_jobs", "Jobs by state.", labels=["state"])
        for state, count in sorted(self.count_jobs().items()):
            family.add_metric([state], count)
        yield family
