"""Deploying SAM / CloudFormation templates into the sandbox (`sandbox deploy`), and the built-in patterns."""

from sandbox.deploy.deployer import DeployError, DeployResult, Deployer, StackEvent
from sandbox.deploy.patterns import PATTERNS_DIR, Pattern, list_patterns, resolve_template

__all__ = ["DeployError", "DeployResult", "Deployer", "StackEvent", "PATTERNS_DIR", "Pattern", "list_patterns",
           "resolve_template"]
