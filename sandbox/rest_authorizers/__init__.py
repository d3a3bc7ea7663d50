"""Lambda authorizers (TOKEN and REQUEST) and IAM authorization on REST APIs.

LocalStack's community edition stores a REST API's authorizers but never calls them: a method with
`AuthorizationType: CUSTOM` answered every request, with or without a token (found by a probe with a SAM app's
`Auth: DefaultAuthorizer`). The model (policy.py) evaluates what an authorizer returns as API Gateway does; the
engine adds a step to LocalStack's REST invocation chain that calls the authorizer, with API Gateway's result cache.
"""
