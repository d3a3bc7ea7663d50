"""Stacks with the SAM transform fail at random when deployed in parallel: "AWS Region cannot be found".

`localstack.services.cloudformation.engine.v2.change_set_model_transform.ChangeSetModelTransform.
_apply_global_serverless_transformation` sets `os.environ["AWS_DEFAULT_REGION"]` for aws-sam-translator and pops
it afterwards: process-global state. Two transforms at once (`sandbox up --deploy all` deploys independent
patterns in parallel) pop each other's region mid-transform. Transforms are serialised with one lock; each takes
milliseconds.
"""

import threading

_lock = threading.Lock()


TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_transform"


def apply() -> None:
    from localstack.services.cloudformation.engine.v2.change_set_model_transform import ChangeSetModelTransform

    original = ChangeSetModelTransform._apply_global_serverless_transformation  # a staticmethod: plain function

    def serialized(region_name, template, parameters):
        with _lock:
            return original(region_name, template, parameters)

    ChangeSetModelTransform._apply_global_serverless_transformation = staticmethod(serialized)
