"""The built-in patterns: `sandbox/patterns/<name>/template.yaml`, deployable by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


PATTERNS_DIR = Path(__file__).resolve().parent.parent / "patterns"


@dataclass(frozen=True)
class Pattern:
    name: str
    template: Path
    description: str
    parameters: dict[str, dict]

    @property
    def default_stack_name(self) -> str:
        return self.name


def load_template(path: Path) -> dict:
    from sandbox.deploy import templates

    return templates.load(path)


def list_patterns() -> list[Pattern]:
    out = []
    if not PATTERNS_DIR.is_dir():
        return out
    for template in sorted(PATTERNS_DIR.glob("*/template.yaml")):
        doc = load_template(template)
        out.append(
            Pattern(
                name=template.parent.name,
                template=template,
                description=str(doc.get("Description", "")).strip(),
                parameters=doc.get("Parameters", {}) or {},
            )
        )
    return out


def resolve_template(path_or_pattern: str) -> tuple[Path, Pattern | None]:
    """A template path (file, or a folder holding template.yaml/.yml/.json), or the name of a built-in pattern."""
    from sandbox.deploy.deployer import DeployError

    candidate = Path(path_or_pattern).expanduser()
    if candidate.is_dir():
        for name in ("template.yaml", "template.yml", "template.json"):
            if (candidate / name).is_file():
                return (candidate / name).resolve(), None
        raise DeployError(f"{candidate} has no template.yaml, template.yml or template.json")
    if candidate.is_file():
        return candidate.resolve(), None
    for pattern in list_patterns():
        if pattern.name == path_or_pattern:
            return pattern.template, pattern
    names = ", ".join(p.name for p in list_patterns()) or "(none)"
    raise DeployError(f"{path_or_pattern!r} is neither a template file nor a built-in pattern. Patterns: {names}.")
