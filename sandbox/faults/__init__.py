"""Fault injection: service faults and latency at the gateway, Lambda-level faults in the executor.

    rules.py       rule model and validation (LocalStack Chaos API shape; Lambda rules after AWS FIS) - pure
    templates.py   named templates of common failures (`sandbox fault templates`) - pure
    client.py      the host's client of the fault API (`Sandbox.faults`), and checks that targets exist
    engine/        runs inside LocalStack: the rule store, the gateway handler that injects service faults, the
                   executor hook that carries out Lambda faults, and the HTTP routes of the fault API

A new Lambda fault kind touches this package only: its rule (rules.py), what it does to an invocation
(engine/lambda_faults.py) and, if users should reach it by name, a template (templates.py).
"""

from sandbox.faults.client import Faults, function_target, is_lambda_rule, similar_functions, unknown_function_message
from sandbox.faults.templates import (
    DEFAULT_THROTTLING_ERROR,
    TEMPLATES,
    THROTTLING_ERRORS,
    FaultError,
    FaultPlan,
    Param,
    Template,
    build_template,
)

__all__ = ["DEFAULT_THROTTLING_ERROR", "TEMPLATES", "THROTTLING_ERRORS", "FaultError", "FaultPlan", "Faults", "Param",
           "Template", "build_template", "function_target", "is_lambda_rule", "similar_functions",
           "unknown_function_message"]
