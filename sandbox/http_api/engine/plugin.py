"""plux entry points (pyproject.toml): the apigatewayv2 service and the AWS::ApiGatewayV2::* resource providers."""

from localstack.services.cloudformation.resource_provider import CloudFormationResourceProviderPlugin
from localstack.services.plugins import Service, aws_provider


@aws_provider(api="apigatewayv2", name="default")
def apigatewayv2():
    from localstack.aws.skeleton import Skeleton
    from localstack.aws.spec import load_service

    from sandbox.http_api.engine.provider import HttpApiProvider, dispatch_table

    provider = HttpApiProvider()
    service = Service("apigatewayv2", skeleton=Skeleton(load_service("apigatewayv2"), dispatch_table(provider)),
                      lifecycle_hook=provider)
    service._provider = provider
    return service


class _ResourcePlugin(CloudFormationResourceProviderPlugin):
    kind = ""

    def __init__(self):
        self.factory = None

    def load(self):
        from sandbox.http_api.engine import resource_providers

        self.factory = resource_providers.PROVIDERS[self.kind]


def _plugin(kind: str) -> type:
    return type(f"ApiGatewayV2{kind}ProviderPlugin", (_ResourcePlugin,),
                {"name": f"AWS::ApiGatewayV2::{kind}", "kind": kind})


ApiPlugin = _plugin("Api")
StagePlugin = _plugin("Stage")
RoutePlugin = _plugin("Route")
IntegrationPlugin = _plugin("Integration")
AuthorizerPlugin = _plugin("Authorizer")
DeploymentPlugin = _plugin("Deployment")
