"""The request guard inside LocalStack (this package runs in the LocalStack process only).

    server.py   the runtime server plugin (GATEWAY_SERVER=sandbox): binds the address it is given and puts the
                guard in front of the gateway before the first request
    http_server.py  the HTTP server it runs (a thread per connection, no reactor; SANDBOX_HTTP_SERVER=twisted
                keeps LocalStack's twisted)
    gateway.py  the guard (first request handler: sandbox.security.policy.decide), refusals explained and
                counted, and the response header that keeps pages out of the sandbox's origin
"""
