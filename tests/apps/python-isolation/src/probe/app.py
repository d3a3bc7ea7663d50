"""Reports what this function can import, and on which Python it runs."""

import importlib
import platform
import sys

MODULES = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3",
           "requests", "click", "textual", "yaml", "localstack", "sandbox", "aws_lambda_powertools",
           "typing_extensions", "certifi"]


def handler(event, context):
    found = {}
    for name in event.get("modules") or MODULES:
        try:
            importlib.import_module(name)
            found[name] = True
        except ModuleNotFoundError as e:
            found[name] = f"{type(e).__name__}: {e}"
    return {"python": platform.python_version(), "imports": found, "sys_path": sys.path}
