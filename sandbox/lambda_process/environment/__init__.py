"""What runs in a Lambda execution environment's own processes, not in LocalStack.

    zygote.py         fork server: boto3 and Powertools preloaded once, one fork per environment
    supervisor.py     first process of each environment: confinement, memory limit, the whole tree stopped
    confine.py        the OS measures (subreaper, namespaces, mounts, Landlock, capabilities)
    proctree.py       a process tree read from /proc: memory, start times, stopping it
    bootstrap.py      the Python runtime (executor-endpoint protocol, handler, logs)
    bootstrap.mjs     the Node.js runtime; node_runtime/ holds the AWS SDK v3 it bundles
    network_guard.py  keeps a Python function on loopback (network_guard.mjs: Node.js)
    layout.py         the files of an environment's folder (shared with the executor)

Standard library (and node built-ins) only, no import from `sandbox`: these files run with this folder on
sys.path in the function's processes, beside the function's own code.
"""
