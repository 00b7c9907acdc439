"""Where the API's worker processes share their Prometheus metrics; kept apart from
``serving.metrics`` so the supervisor process can name it without loading prometheus_client."""

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable
