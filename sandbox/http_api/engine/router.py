"""LocalStack's execute-api endpoint answers for REST APIs only (localstack/services/apigateway/next_gen/
execute_api/router.py `ApiGatewayEndpoint.__call__` returns 404 for any other id): HTTP APIs are served there too."""

TARGET = "localstack.services.apigateway.next_gen.execute_api.router"


def apply() -> None:
    from localstack.services.apigateway.next_gen.execute_api.router import ApiGatewayEndpoint

    from sandbox.http_api.engine import gateway

    rest_call = ApiGatewayEndpoint.__call__

    def __call__(self, request, **kwargs):
        api_id, stage = (kwargs.get("api_id") or "").lower(), kwargs.get("stage")
        if not self.is_rest_api(api_id, stage):
            response = gateway.handle(request, api_id)
            if response is not None:
                return response
        return rest_call(self, request, **kwargs)

    ApiGatewayEndpoint.__call__ = __call__
