"""Who may reach the sandbox (docs/security.md).

    policy.py   the decision for one request: pure logic, no LocalStack (tested directly)
    sigv4.py    checks the AWS signature of remote clients (`--allow-remote`) against the instance's key
    gateway.py  runs inside LocalStack: the first handler of the gateway applies the policy; refusals are
                explained and counted; S3 documents are served without the sandbox's origin
    server.py   runs inside LocalStack: the runtime server plugin (GATEWAY_SERVER=sandbox) that binds the address
                it is given and installs the guard before the first request

The other half, what a *function* may do, lives with the process executor: sandbox/lambda_process/supervisor.py,
confine.py and network_guard.py/.mjs (they run in the function's processes).
"""
