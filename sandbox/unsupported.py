"""Services the embedded backend does not offer, with the reason shown to users (shared by CLI and LocalStack side)."""

UNSUPPORTED_SERVICES = {
    "kinesis": "LocalStack's Kinesis downloads the kinesis-mock engine at first use, and the sandbox is offline.",
    "opensearch": "OpenSearch is a Java server that LocalStack downloads at first use.",
    "es": "Elasticsearch is a Java server that LocalStack downloads at first use.",
    "transcribe": "it downloads speech models at first use.",
    "xray": "X-Ray is not in LocalStack's community edition (embedded or in Docker).",
}

# What to use instead, where it is not the docker-compose backend
INSTEAD = {
    "xray": "The sandbox records every request's trace itself: `sandbox trace <trace id>` (the Root of "
            "X-Amzn-Trace-Id), `sandbox events`, the TUI's Flow tab. `Tracing: Active` and the X-Ray SDK "
            "(Powertools' Tracer) work; their segments are not stored.",
}
DOCKER = ("Use the docker-compose backend (`docker compose up -d`, then `sandbox --endpoint http://127.0.0.1:4566 ...`) "
          "for this service.")
