"""Workarounds for bugs of the frozen localstack-core 2026.3.0, one module per bug; each names what it fixes.

Every module has a `TARGET` (the LocalStack module it patches) and an `apply()` that imports what it patches (so
importing the patch module stays cheap and side-effect free) and installs the fix; `apply()` runs when LocalStack
first imports TARGET, so start-up does not pay for services nobody uses. A TARGET may be a tuple of modules: then
`apply(module)` runs as each of them is imported. A patch that fails to apply is logged and skipped: the sandbox
still starts, without that one workaround.
"""

import functools
import importlib


# module name -> one line on what it fixes (shown in the log when it cannot be applied)
PATCHES = {
    "events_sfn_input_path": "EventBridge -> Step Functions targets with InputPath/InputTransformer",
    "logs_filter_pattern": "CloudWatch Logs filterPattern in FilterLogEvents, subscription and metric filters",
    "cfn_lambda_reserved_concurrency": "ReservedConcurrentExecutions of AWS::Lambda::Function in templates",
    "cfn_removed_properties": "a property removed from a function's, event source mapping's or SNS subscription's template "
                              "is reset to its default (a dropped Timeout, FilterCriteria, FilterPolicy stayed)",
    "cfn_getatt_changes": "a !GetAtt pointed at another resource is a change (an SQS event moved to another queue kept the old one)",
    "cfn_replacement_state": "a resource replaced in a stack update stays in the stack's resource list",
    "cfn_create_only_replacement": "a create-only property (a name) changed through a !Sub of a parameter replaces the "
                                   "resource (it was updated in place, kept its old name or left the old one behind)",
    "sfn_definition_substitutions": "a DefinitionSubstitutions key the definition's ${Token} lacks is named (it failed with 'No active exception to reraise')",
    "cfn_update_rollback": "a stack update that fails is rolled back to the stack's previous state, as on AWS",
    "cfn_outputs_before_status": "a stack's final status is shown with its new outputs and parameters (a deploy could print the old ones)",
    "s3_storage_dir": "large S3 objects kept under the sandbox's state dir, not a /tmp folder shared by all",
    "sqs_esm_concurrency": "SQS event source mappings process several batches at once, as on AWS",
    "sqs_esm_wake_on_message": "an idle SQS event source mapping is woken by its queue instead of sleeping a back-off",
    "cfn_sam_transform_lock": "SAM transforms of stacks deployed in parallel race on AWS_DEFAULT_REGION",
    "lambda_metrics_batching": "Lambda Invocations/Errors metrics aggregated per second (speed)",
    "sqs_metrics_batching": "SQS per-request metrics aggregated per second (speed)",
    "lambda_keepalive_timers": "one shared timer thread for Lambda environments' keep-alive, not a thread per invoke",
    "logs_stream_of_filtered_group": "CreateLogStream in a log group with a subscription filter",
    "apigateway_iam_methods": "REST methods with AWS_IAM security imported as AWS_IAM, not NONE",
    "cfn_sam_generated_refs": "SAM's references to its generated resources (!Ref MyApi.Stage, MyFunction.Alias) deploy",
    "cfn_sub_escapes": "${!Literal} in a Fn::Sub written as ${Literal} (the deploy failed: unresolved dependency)",
    "apigateway_integration_timeout": "a REST API stops waiting for its integration at timeoutInMillis (29 s): 504",
    "apigateway_gateway_responses": "REST gateway responses (SAM GatewayResponses) imported and applied: headers, bodies, codes",
    "lambda_esm_deletion": "deleted event source mappings removed, not left 'Deleting' for ever",
    "events_schedule_jobs": "scheduled EventBridge rules fired by the sandbox's schedule engine, not LocalStack's",
    "cfn_scheduler_schedule_update": "stack updates of AWS::Scheduler::Schedule (were reported done, did nothing)",
    "cfn_updates_in_place": "stack updates of rules, function URLs, invoke configs, buckets, state machines; "
                            "what LocalStack cannot update is reported, not said done",
    "cfn_property_types": "a Number parameter where a resource wants a string (tags, state machine substitutions)",
    "lambda_function_url_host": "function URLs on <id>.lambda-url.<region>.localhost (the 127.0.0.1 form resolves nowhere)",
    "form_bodies_verbatim": "a form body (curl -d's default type) reaches a REST API's or function URL's function byte for byte, not re-encoded",
    "lambda_function_url_payload": "function URL events and answers as AWS's payload 2.0 (rawPath, cookies, Set-Cookie)",
    "sqs_batching_window": "an SQS mapping's MaximumBatchingWindowInSeconds gathers a batch (every message was its own)",
    "stream_esm_idle_wait": "an idle DynamoDB/Kinesis stream mapping waits between empty rounds (it kept a core busy)",
    "esm_stream_bisect": "BisectBatchOnFunctionError of DynamoDB/Kinesis stream mappings splits a failing batch (it retried it whole)",
    "cfn_delete_spares_foreign": "deleting a stack whose create failed deletes only what it created (a name clash deleted the existing table)",
    "cfn_condition_switches": "a Condition switched off deletes its resources (update and DeleteStack), switched on creates them again",
    "cfn_rest_api_update": "stack updates of a REST API's routes and stage (a new route never answered)",
    "moto_action_lookup": "moto finds a request's handler method without listing its class per request (speed)",
    "gateway_internal_routes": "LocalStack's /_localstack routes matched only for paths under /_localstack (speed)",
    "s3_notifications_shutdown": "S3 notifications still queued at shutdown dropped (down waited 20 s after a burst)",
    "lambda_starting_environments": "Lambda environments starting while their function stops are stopped too (down waited 20 s)",
    "lambda_log_shipping": "Lambda's log lines handed to the gateway in process, not sent by botocore over HTTP (speed)",
    "lambda_configuration_limits": "a function's Timeout, MemorySize and ephemeral storage outside AWS's ranges are refused, as AWS does",
    "lambda_list_layers_emptied": "ListLayers after a layer's last version was deleted (it failed for every layer)",
    "lambda_dlq_throttled_events": "async events dropped by a throttle (ZeroReservedConcurrency, EventAgeExceeded) reach the function's DLQ",
    "lambda_alias_invoke_config": "an EventInvokeConfig on an alias applies to async invokes of that alias (retries, destinations)",
    "lambda_invoke_direct": "S3 notifications' and async invocations' Lambda Invoke handed to the gateway in process, not made by botocore (speed)",
    "edge_router_prefilter": "LocalStack's edge router skipped for requests none of its rules can match (speed)",
    "werkzeug_header_lookup": "request and response headers looked up without an exception per missing one (speed)",
    "in_process_parsed_requests": "requests LocalStack makes to itself in process arrive parsed, not parsed back (speed)",
    "json_shape_parsers": "JSON-protocol requests (DynamoDB, SQS, Logs...) parsed by a parser made per input shape (speed)",
    "in_memory_client_models": "in-process internal calls parsed with LocalStack's own service models (memory)",
    "response_logger_off": "LocalStack's request log builds no line when its loggers are off (speed)",
    "twisted_access_log": "no twisted access log line formatted per HTTP request only to be dropped (speed)",
}

def apply_all() -> None:
    """Arms every patch: each is applied when LocalStack first imports its TARGET module (see lazy.py)."""
    from sandbox.localstack_ext.lazy import when_imported

    for name, what in PATCHES.items():
        module = importlib.import_module(f"{__name__}.{name}")
        if isinstance(module.TARGET, tuple):  # applied to each target as it is imported
            for target in module.TARGET:
                when_imported(target, functools.partial(module.apply, target),
                              what=f"sandbox patch {name} on {target} ({what})")
        else:
            when_imported(module.TARGET, module.apply, what=f"sandbox patch {name} ({what})")
