"""Observability: every request through the sandbox recorded as a span, linked into traces.

One package, three roles (as every feature package of the sandbox):

    engine/           runs inside LocalStack (installed by `engine.install()` from the on_infra_start hook)
        gateway.py        gateway handlers: one span per AWS request (and per API Gateway invocation)
        propagation.py    the span a thread works for, carried onto LocalStack's internal SDK calls
        lambda_hops.py    Lambda executions and async-invoke retries as spans (LocalStack's Lambda service patched)
        esm_hops.py       event source mapping deliveries linked to the write that produced the records
        sqs_hops.py       SQS: which request produced a message; the move of a message to its dead-letter queue
        notifier_hops.py  S3 and SNS notifications keep the trace of the request that caused them
        sfn_hops.py       Step Functions executions and their task states
        stream_hops.py    DynamoDB stream records linked to the write that produced them
        api.py            /_sandbox/events, /_sandbox/traces/<id>, /_sandbox/graph, /_sandbox/cost, /_sandbox/recorder

    the model: pure code over spans, used on both sides (no LocalStack)
        spans.py (schema, ids), resources.py, callers.py, correlation.py, noise.py, preview.py, units.py,
        query.py (event filters), probes.py (failed calls that are expected existence probes),
        traces.py (trace trees), graph.py (service map), cost.py (cost meter),
        recorder.py (store + indexes), store.py (ring buffer with a `seq` cursor, mirrored to JSONL)

    on the host
        client.py         ObservabilityClient, used through `Sandbox.events()/.trace()/.graph()/.cost()`
        render.py         terminal rendering for the `sandbox events|trace|graph|cost` commands
"""
