"""Observability engine: every request through the sandbox recorded as a span, linked into traces.

Two halves, one package:

Inside LocalStack (installed by `install.install()` from the sandbox's on_infra_start hook):
    gateway.py        gateway handlers: one span per AWS request (and per API Gateway invocation)
    propagation.py    the span a thread works for, carried onto LocalStack's internal SDK calls as X-Amzn-Trace-Id
    lambda_hops.py    Lambda executions and async-invoke retries as spans (LocalStack's Lambda service patched)
    esm_hops.py       event source mapping deliveries linked to the write that produced the records
    sqs_hops.py       SQS: which request produced a message; the move of a message to its dead-letter queue
    notifier_hops.py  S3 and SNS notifications keep the trace of the request that caused them
    sfn_hops.py       Step Functions executions and their task states
    stream_hops.py    DynamoDB stream records linked to the write that produced them
    recorder.py       the in-process recorder: store + indexes (span -> trace/correlation, message -> producer)
    store.py          bounded ring buffer with a monotonic `seq` cursor, mirrored to append-only JSONL
    api.py            /_sandbox/events, /_sandbox/traces/<id>, /_sandbox/graph, /_sandbox/cost, /_sandbox/recorder

Pure functions over spans (used on both sides):
    spans.py (schema, ids), resources.py, callers.py, correlation.py, noise.py, preview.py, units.py,
    query.py (event filters), traces.py (trace trees), graph.py (service map), cost.py (cost meter)

On the host:
    client.py         ObservabilityClient, used through `Sandbox.events()/.trace()/.graph()/.cost()`
    render.py         terminal rendering for the `sandbox events|trace|graph|cost` commands
"""
