"""Which defaults a function's update sends for the properties its template dropped (patch cfn_lambda_removed_properties)."""

from sandbox.localstack_ext.patches.cfn_lambda_removed_properties import with_removed_reset


def test_a_dropped_property_gets_aws_default_and_the_kept_ones_are_untouched():
    previous = {"FunctionName": "app-Fn-1", "Timeout": 30, "MemorySize": 512, "Environment": {"Variables": {"A": "1"}},
                "LoggingConfig": {"LogGroup": "/custom"}, "Handler": "app.handler"}
    desired = {"FunctionName": "app-Fn-1", "MemorySize": 1024, "Handler": "app.handler"}
    assert with_removed_reset(desired, previous) == {
        "FunctionName": "app-Fn-1", "MemorySize": 1024, "Handler": "app.handler", "Timeout": 3,
        "Environment": {"Variables": {}}, "LoggingConfig": {"LogFormat": "Text", "LogGroup": "/aws/lambda/app-Fn-1"}}


def test_nothing_dropped_leaves_the_desired_state_as_it_is():
    desired = {"FunctionName": "f", "Timeout": 10}
    assert with_removed_reset(desired, {"FunctionName": "f", "Timeout": 30}) is desired


def test_properties_it_has_no_default_for_are_not_invented():
    # Handler, Role, Runtime are required (a zip function without them is refused), ReservedConcurrentExecutions has
    # its own patch, Tags are not configuration
    previous = {"FunctionName": "f", "Handler": "a.b", "Role": "arn:aws:iam::000000000000:role/r",
                "ReservedConcurrentExecutions": 2, "Tags": [{"Key": "k", "Value": "v"}]}
    assert with_removed_reset({"FunctionName": "f"}, previous) == {"FunctionName": "f"}
