"""Which defaults an update sends for the properties a template dropped (patch cfn_removed_properties)."""

from sandbox.localstack_ext.patches.cfn_removed_properties import (function_defaults, mapping_defaults,
                                                                   subscription_defaults, with_removed_reset)


def test_a_dropped_function_property_gets_aws_default_and_the_kept_ones_are_untouched():
    previous = {"FunctionName": "app-Fn-1", "Timeout": 30, "MemorySize": 512, "Environment": {"Variables": {"A": "1"}},
                "LoggingConfig": {"LogGroup": "/custom"}, "Handler": "app.handler"}
    desired = {"FunctionName": "app-Fn-1", "MemorySize": 1024, "Handler": "app.handler"}
    assert with_removed_reset(desired, previous, function_defaults) == {
        "FunctionName": "app-Fn-1", "MemorySize": 1024, "Handler": "app.handler", "Timeout": 3,
        "Environment": {"Variables": {}}, "LoggingConfig": {"LogFormat": "Text", "LogGroup": "/aws/lambda/app-Fn-1"}}


def test_nothing_dropped_leaves_the_desired_state_as_it_is():
    desired = {"FunctionName": "f", "Timeout": 10}
    assert with_removed_reset(desired, {"FunctionName": "f", "Timeout": 30}, function_defaults) is desired


def test_properties_it_has_no_default_for_are_not_invented():
    # Handler, Role, Runtime are required (a zip function without them is refused), ReservedConcurrentExecutions has
    # its own patch, Tags are not configuration
    previous = {"FunctionName": "f", "Handler": "a.b", "Role": "arn:aws:iam::000000000000:role/r",
                "ReservedConcurrentExecutions": 2, "Tags": [{"Key": "k", "Value": "v"}]}
    assert with_removed_reset({"FunctionName": "f"}, previous, function_defaults) == {"FunctionName": "f"}


def test_a_mapping_resets_by_its_source():
    sqs = "arn:aws:sqs:us-east-1:000000000000:jobs"
    previous = {"EventSourceArn": sqs, "FunctionName": "f", "BatchSize": 5,
                "FilterCriteria": {"Filters": [{"Pattern": "{}"}]}, "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": 2}}
    assert with_removed_reset({"EventSourceArn": sqs, "FunctionName": "f"}, previous, mapping_defaults) == {
        "EventSourceArn": sqs, "FunctionName": "f", "BatchSize": 10, "FilterCriteria": {"Filters": []},
        "FunctionResponseTypes": [], "ScalingConfig": {}}
    stream = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026"
    reset = with_removed_reset({"EventSourceArn": stream}, {"EventSourceArn": stream, "BatchSize": 5,
                                                            "MaximumRetryAttempts": 2}, mapping_defaults)
    assert reset["BatchSize"] == 100 and reset["MaximumRetryAttempts"] == -1


def test_a_subscription_loses_its_filter_policy():
    previous = {"TopicArn": "t", "Protocol": "sqs", "Endpoint": "q", "FilterPolicy": {"severity": ["high"]}}
    assert with_removed_reset({"TopicArn": "t", "Protocol": "sqs", "Endpoint": "q"}, previous,
                              subscription_defaults)["FilterPolicy"] == ""
