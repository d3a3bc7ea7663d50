"""SAM's transform, run on the host before CloudFormation sees a template, so what it expands to can be checked.

LocalStack runs the same transform (the same aws-sam-translator) inside CreateStack. But its community edition
"creates" resource types it has no provider for as no-ops: an `AWS::Serverless::HttpApi` became
`AWS::ApiGatewayV2::*` resources that reported CREATE_COMPLETE and did nothing. Checking the types only before the
transform missed those. Offline: managed policies resolve to their well-known ARNs instead of asking IAM.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping

LOG = logging.getLogger(__name__)
logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)  # "unpublished metrics": we publish none
# "Feature 'deployment_preference_condition_fix' not available in Feature Toggle Config.": SAM's transform runs
# here without AWS's feature-toggle service, so every deploy that asked for a feature printed it (a stray line)
logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class TransformError(ValueError):
    """The template is not valid SAM: the messages say where and why (as `sam validate` would)."""


class _AwsManagedPolicies(Mapping):
    """Any managed policy name maps to its AWS ARN (the transform asks only for names the template uses)."""

    def __getitem__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and bool(name)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


def transforms(template: dict) -> list:
    value = template.get("Transform")
    return value if isinstance(value, list) else [value]


def uses_sam(template: dict) -> bool:
    return SAM_TRANSFORM in transforms(template)


def expand(template: dict, parameters: dict[str, str], region: str,
           account: str = "000000000000") -> dict | None:
    """The template after SAM's transform; the template itself when it uses no SAM; None when the transform could
    not run here for a reason that says nothing about the template (LocalStack will try it itself) - such as
    AWS::LanguageExtensions (Fn::ForEach...), which CloudFormation applies before SAM's: SAM's alone refused what
    CloudFormation accepts ("All 'Resources' must be Objects")."""
    if not uses_sam(template):
        return template
    if "AWS::LanguageExtensions" in transforms(template):
        return None
    try:
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.arn_generator import ArnGenerator
        from samtranslator.translator.transform import to_py27_compatible_template
        from samtranslator.translator.translator import Translator
    except ImportError:  # pragma: no cover - aws-sam-translator comes with localstack-core
        return None
    from sandbox.clients import isolated_session
    values = {k: str(v) for k, v in parameters.items()}
    for spec_name, spec in (template.get("Parameters") or {}).items():
        if isinstance(spec, dict) and spec_name not in values and "Default" in spec:
            values[spec_name] = spec["Default"]
    values.update({"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
                   "AWS::StackName": "sandbox-check", "AWS::StackId": "sandbox-check", "AWS::URLSuffix":
                   "amazonaws.com", "AWS::NotificationARNs": []})
    try:
        # as samtranslator.translator.transform.transform, with the region given instead of looked up in the host's
        # AWS configuration (and no AWS_DEFAULT_REGION juggling, which races between threads)
        if ArnGenerator.BOTO_SESSION_REGION_NAME is None:
            ArnGenerator.BOTO_SESSION_REGION_NAME = region  # only its partition is used: "aws" for every region
        fragment = copy.deepcopy(template)
        to_py27_compatible_template(fragment, values)
        translator = Translator(None, Parser(), boto_session=isolated_session(region))
        return translator.translate(fragment, values, get_managed_policy_map=_AwsManagedPolicies)
    except InvalidDocumentException as e:
        causes = [str(c.message) if hasattr(c, "message") else str(c) for c in getattr(e, "causes", [])] or [str(e)]
        raise TransformError("; ".join(causes)) from None
    except Exception as e:  # noqa: BLE001 - e.g. a boto3 region lookup: not the template's fault
        LOG.debug("SAM transform could not run on the host: %s", e)
        return None
