"""Who may reach the sandbox (docs/security.md).

    policy.py   the decision for one request: pure logic, no LocalStack (tested directly)
    sigv4.py    checks the AWS signature of remote clients (`--allow-remote`) against the instance's key
    engine/     runs inside LocalStack: the runtime server plugin (GATEWAY_SERVER=sandbox) that binds the
                address it is given and puts the guard (gateway.py) first in the gateway's chain

The other half, what a *function* may do, lives with the process executor, in the function's own processes:
sandbox/lambda_process/environment/ (supervisor.py, confine.py, network_guard.py and .mjs).
"""
