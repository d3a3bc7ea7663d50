"""Clear errors for services that cannot run embedded (they need a download or a JVM at first use).

Without this, LocalStack would try to download kinesis-mock, OpenSearch or a JDK on first use: a long hang
offline, then an obscure failure. We answer at once with what is missing and what to use instead.
"""

from localstack.aws.api import RequestContext
from localstack.aws.chain import HandlerChain
from localstack.aws.handlers import serve_custom_service_request_handlers
from localstack.http import Response

from sandbox.unsupported import DOCKER, INSTEAD, UNSUPPORTED_SERVICES


def refuse_unsupported(chain: HandlerChain, context: RequestContext, response: Response) -> None:
    service = context.service.service_name if context.service else None
    reason = UNSUPPORTED_SERVICES.get(service)
    if not reason:
        return
    message = f"Service '{service}' is not available in the embedded Serverless Sandbox: {reason} " \
              f"{INSTEAD.get(service, DOCKER)}"
    protocol = context.service.protocol
    if protocol in ("json", "rest-json"):
        response.set_json({"__type": "NotImplementedException", "message": message})
        response.headers["x-amzn-ErrorType"] = "NotImplementedException"
    else:
        response.data = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>NotImplementedException</Code>"
            f"<Message>{message}</Message></Error></ErrorResponse>"
        )
        response.headers["Content-Type"] = "text/xml"
    response.status_code = 501
    chain.stop()


def install() -> None:
    serve_custom_service_request_handlers.append(refuse_unsupported)
