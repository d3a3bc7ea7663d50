"""The files an execution environment's folder holds, shared by the executor (LocalStack) and the supervisor.

Standard library only and no imports: it is imported both as `sandbox.lambda_process.environment.layout` and, in
the environment's processes, as the top-level module `layout`.
"""

PROCESS_LOG = "process.log"  # the output of the environment's processes (startup errors, crashes)
TMP = "tmp"  # the function's /tmp
MEMORY_MARKER = "memory-exceeded"  # written by the supervisor when it killed the environment for its memory
CONFINEMENT_FILE = "confinement.json"  # what the supervisor could apply (namespaces, Landlock, ...)
