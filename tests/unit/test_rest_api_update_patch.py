"""The pure part of the cfn_rest_api_update patch: which UpdateStage operations a stack update makes."""

from sandbox.localstack_ext.patches.cfn_rest_api_update import patch_operations


def test_a_stage_update_patches_only_what_changed():
    """cfn_rest_api_update: the UpdateStage operations from the stage as it is to the template's properties."""
    current = {"deploymentId": "old", "description": "", "variables": {"colour": "blue", "gone": "x"}}
    desired = {"DeploymentId": "new", "Variables": {"colour": "red", "size": 3}, "TracingEnabled": True}
    assert patch_operations(desired, current) == [
        {"op": "replace", "path": "/deploymentId", "value": "new"},
        {"op": "replace", "path": "/tracingEnabled", "value": "true"},
        {"op": "remove", "path": "/variables/gone"},
        {"op": "replace", "path": "/variables/colour", "value": "red"},
        {"op": "replace", "path": "/variables/size", "value": "3"},
    ]
    assert patch_operations({"DeploymentId": "same"}, {"deploymentId": "same"}) == []
