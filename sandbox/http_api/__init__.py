"""HTTP APIs (API Gateway v2, `AWS::Serverless::HttpApi`, `Type: HttpApi` events) served for real.

LocalStack's community edition accepts AWS::ApiGatewayV2::* resources as no-ops; here the API is stored in moto's
apigatewayv2 models (engine/provider.py), created from templates by our CloudFormation resource providers
(engine/resource_providers.py) and invoked on LocalStack's execute-api routes (engine/gateway.py). The pure parts
(OpenAPI import, route matching, payload formats, parameter mapping, JWT checks) are the model modules here.
"""
