"""Installs the authorization step into LocalStack's REST invocation chain (engine/handler.py)."""

TARGET = "localstack.services.apigateway.next_gen.execute_api.handlers"


def install() -> None:
    from sandbox.localstack_ext.lazy import when_imported

    def add_step() -> None:
        from localstack.services.apigateway.next_gen.execute_api import handlers

        from sandbox.rest_authorizers.engine.handler import authorize

        handlers.preprocess_request.append(authorize)

    when_imported(TARGET, add_step, what="sandbox REST API Lambda authorizers")
