"""The errors the sandbox's own code raises for its users: one message that says what went wrong and how to fix it.

Every package raises these (or a subclass of its own, e.g. `sandbox.faults.FaultError`); the CLI turns them into
one red line and exit code 1 instead of a traceback, the TUI into a notification.
"""


class SandboxError(Exception):
    """A failure with a message meant for the user, saying what went wrong and how to fix it."""
