"""An AWS CLI v1 plugin that makes `AWS_ENDPOINT_URL` count for every service (`sandbox env` enables it).

AWS CLI v1 (awscli/customizations/overridesslcommonname.py) sets the endpoint of sqs, rds, emr and health to their
legacy AWS host names unless `--endpoint-url` is given, before botocore would read `AWS_ENDPOINT_URL`: after
`eval "$(sandbox env)"`, `aws sqs list-queues` went to https://queue.amazonaws.com/. This handler runs first and
fills the endpoint from the environment (`AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`), as the CLI does
for every other service.
"""

from __future__ import annotations

import os


def awscli_initialize(cli) -> None:
    cli.register("before-building-argument-table-parser", use_endpoint_from_environment)


def use_endpoint_from_environment(session, parsed_globals, **kwargs) -> None:
    if getattr(parsed_globals, "endpoint_url", None) is not None:
        return
    service = (getattr(parsed_globals, "command", "") or "").upper().replace("-", "_")
    url = os.environ.get(f"AWS_ENDPOINT_URL_{service}") or os.environ.get("AWS_ENDPOINT_URL")
    if url:
        parsed_globals.endpoint_url = url
