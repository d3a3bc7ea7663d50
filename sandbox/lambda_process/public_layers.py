"""Public layers (other AWS accounts' layers) a function may list, and which of them the sandbox can serve.

On AWS, Powertools for AWS Lambda comes from a layer AWS publishes in every region; the sandbox serves such
ARNs from its own copy of the same library (runtime_site.py, layer_fetcher.py), so a template written for AWS
works unchanged and a function without the layer does not get Powertools for free. Any other account's layer
cannot be fetched (no network beyond loopback): it is refused at deploy time, by name, instead of failing later.

Pure: no LocalStack; the deployer (host) and the layer fetcher (LocalStack) share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SANDBOX_ACCOUNT = "000000000000"
LAYER_VERSION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):layer:"
    r"(?P<name>[A-Za-z0-9_-]+):(?P<version>\d+)$")
# Powertools for AWS Lambda's publishing accounts (docs.powertools.aws.dev: "Lambda Layer" of each language).
POWERTOOLS_PYTHON_ACCOUNT = "017000801446"
POWERTOOLS_TYPESCRIPT_ACCOUNT = "094274105915"
# AWSLambdaPowertoolsPythonV3-python313-x86_64, -python312-arm64, ...; V2 had one name per architecture.
_POWERTOOLS_PYTHON = re.compile(r"^AWSLambdaPowertoolsPython(V3-python3\d+-(x86_64|arm64)|V2|V2-Arm64)$")
_POWERTOOLS_PYTHON_V1 = re.compile(r"^AWSLambdaPowertoolsPython(-Arm64)?$")
_POWERTOOLS_TYPESCRIPT = re.compile(r"^AWSLambdaPowertoolsTypeScriptV2$")

POWERTOOLS_PYTHON = "powertools-python"
POWERTOOLS_TYPESCRIPT = "powertools-typescript"


@dataclass(frozen=True)
class PublicLayer:
    arn: str
    account: str
    name: str
    version: str
    bundle: str | None  # the bundled copy that serves it (POWERTOOLS_*), None if none can
    reason: str = ""    # why it cannot be served

    @property
    def servable(self) -> bool:
        return self.bundle is not None


def parse(arn: str) -> re.Match | None:
    return LAYER_VERSION_ARN.match(arn) if isinstance(arn, str) else None


def classify(arn: str, account: str | None = SANDBOX_ACCOUNT) -> PublicLayer | None:
    """The layer if `arn` is another account's layer version; None for the sandbox account's own layers (and for
    what is no layer version ARN at all: LocalStack refuses those with AWS's message)."""
    m = parse(arn)
    if m is None or m["account"] == account:
        return None
    name, owner = m["name"], m["account"]
    bundle, reason = None, "the sandbox cannot download other accounts' layers"
    if owner == POWERTOOLS_PYTHON_ACCOUNT and _POWERTOOLS_PYTHON.match(name):
        bundle = POWERTOOLS_PYTHON
    elif owner == POWERTOOLS_PYTHON_ACCOUNT and _POWERTOOLS_PYTHON_V1.match(name):
        reason = ("it is Powertools for AWS Lambda (Python) v1, and the sandbox serves v3: use "
                  "arn:aws:lambda:<region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:<n>")
    elif owner == POWERTOOLS_TYPESCRIPT_ACCOUNT and _POWERTOOLS_TYPESCRIPT.match(name):
        bundle = POWERTOOLS_TYPESCRIPT
    elif owner == POWERTOOLS_TYPESCRIPT_ACCOUNT:
        reason = ("it is Powertools for AWS Lambda (TypeScript) v1, and the sandbox serves v2: use "
                  "arn:aws:lambda:<region>:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:<n>")
    return PublicLayer(arn, owner, name, m["version"], bundle, "" if bundle else reason)


def refusal(function: str, layer: PublicLayer) -> str:
    """Why a function's layer is refused, and what to do instead."""
    return (f"function {function} lists the public layer {layer.arn} ({layer.name} of account {layer.account}), "
            f"which the sandbox cannot serve: {layer.reason}. It serves this account's own layers and Powertools for "
            "AWS Lambda (AWSLambdaPowertoolsPythonV3-*/V2, AWSLambdaPowertoolsTypeScriptV2). Package what the layer "
            "provides with the function, or as an AWS::Serverless::LayerVersion of the template.")
