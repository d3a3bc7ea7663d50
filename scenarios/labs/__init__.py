"""Workshop labs: a lab.md of tasks, checks that inspect the real sandbox, a starter and its solution.

Labs live in scenarios/labs/<id>/ (docs/labs.md); `LabSession` runs them, the CLI is `sandbox lab`.
"""

from scenarios.labs.model import CheckFailed, CheckResult, Lab, LabError, Task
from scenarios.labs.progress import Progress
from scenarios.labs.registry import all_labs, get_lab
from scenarios.labs.session import LabSession

__all__ = ["CheckFailed", "CheckResult", "Lab", "LabError", "LabSession", "Progress", "Task", "all_labs",
           "get_lab"]
