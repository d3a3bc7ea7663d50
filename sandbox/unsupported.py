"""Services the embedded backend does not offer, with the reason shown to users (shared by CLI and LocalStack side)."""

UNSUPPORTED_SERVICES = {
    "kinesis": "LocalStack's Kinesis downloads the kinesis-mock engine at first use, and the sandbox is offline.",
    "opensearch": "OpenSearch is a Java server that LocalStack downloads at first use.",
    "es": "Elasticsearch is a Java server that LocalStack downloads at first use.",
    "transcribe": "it downloads speech models at first use.",
}
