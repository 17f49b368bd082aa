"""docker/Dockerfile and .dockerignore, checked statically (there is no Docker engine here).

Multi-stage (wheels built in a builder stage, slim runtime), non-root, only multi-arch base
images and no architecture-specific downloads (so the gateway builds for arm64), and a build
context that holds what the build needs and nothing secret.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

import pytest
from deploy_support import REPO_ROOT

from gateway.settings import GatewaySettings

DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
# Official Docker Hub images published for linux/amd64 and linux/arm64 (and more).
MULTI_ARCH_BASES = re.compile(r"^python:\$\{PYTHON_VERSION\}-slim-\$\{DEBIAN_RELEASE\}$")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and stages; continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        pending += " " + line[:-1].strip() if line.endswith("\\") else " " + line
        if not line.endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=(\S+)\s+)?(\S+)\s+AS\s+(\S+)", rest, re.IGNORECASE)
            assert match, f"every stage is named: FROM {rest}"
            assert match.group(1) in (None, "$BUILDPLATFORM", "${BUILDPLATFORM}"), "no fixed --platform"
            stages.append(Stage(match.group(2), match.group(3)))
        elif not stages and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], dict[str, Stage]]:
    args, stages = parse_dockerfile(DOCKERFILE.read_text())
    return args, {stage.name: stage for stage in stages}


def chain(stages: dict[str, Stage], name: str) -> list[Stage]:
    """A stage and the stages it is built FROM, outermost last."""
    result = [stages[name]]
    while result[-1].base in stages:
        result.append(stages[result[-1].base])
    return result


def effective_user(stages: dict[str, Stage], name: str) -> str:
    for stage in chain(stages, name):
        users = [rest for keyword, rest in stage.instructions if keyword == "USER"]
        if users:
            return users[-1]
    return "root"


# ---- stages --------------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "extras"), [("hub", "server"), ("gateway", "gateway,sim")])
def test_runtime_targets_install_wheels_built_in_a_builder_stage(
    dockerfile: tuple[dict[str, str], dict[str, Stage]], target: str, extras: str
) -> None:
    _, stages = dockerfile
    runs = " ".join(rest for keyword, rest in stages[target].instructions if keyword == "RUN")
    source = re.search(r"--mount=type=bind,from=(\S+?),source=/wheels", runs)
    assert source, f"{target} installs from a builder stage's wheels"
    assert "--no-index" in runs and f'"homevitals[{extras}]"' in runs
    builder = stages[source.group(1)]
    builder_runs = " ".join(rest for keyword, rest in builder.instructions if keyword == "RUN")
    assert f'pip wheel --wheel-dir /wheels ".[{extras}]"' in builder_runs
    for extra in extras.split(","):
        assert extra in PYPROJECT["project"]["optional-dependencies"], f"no extra {extra!r} in pyproject.toml"
    # Compilers stay in the builder: the runtime chain never installs them.
    for stage in chain(stages, target):
        text = " ".join(rest for _, rest in stage.instructions)
        assert "build-essential" not in text and "gcc" not in text, f"{stage.name} carries a compiler"


@pytest.mark.parametrize("target", ["hub", "gateway"])
def test_runtime_targets_run_as_an_unprivileged_user(
    dockerfile: tuple[dict[str, str], dict[str, Stage]], target: str
) -> None:
    _, stages = dockerfile
    user = effective_user(stages, target)
    assert user.split(":")[0] not in {"root", "0"}
    name = user.split(":")[0]
    created = " ".join(rest for stage in chain(stages, target) for keyword, rest in stage.instructions if keyword == "RUN")
    match = re.search(rf"useradd [^&]*--uid (\d+)[^&]* {name}\b", created)
    assert match and int(match.group(1)) >= 1000, f"{name} is created with a fixed, non-system uid"


def test_base_images_are_multi_arch_and_nothing_is_downloaded_per_architecture(
    dockerfile: tuple[dict[str, str], dict[str, Stage]],
) -> None:
    args, stages = dockerfile
    external = {stage.base for stage in stages.values() if stage.base not in stages}
    assert external, "at least one base image"
    for base in external:
        assert MULTI_ARCH_BASES.match(base), f"{base}: not a known multi-arch official image"
    major, minor = (int(x) for x in args["PYTHON_VERSION"].split("."))
    required = re.fullmatch(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert required and (major, minor) >= (int(required.group(1)), int(required.group(2)))
    for stage in stages.values():
        for keyword, rest in stage.instructions:
            assert keyword != "ADD", f"{stage.name}: ADD may fetch URLs; use COPY"
            if keyword == "RUN":
                assert not re.search(r"\b(curl|wget)\b|https?://", rest), f"{stage.name}: downloads in RUN"
                assert not re.search(r"amd64|x86_64|aarch64|arm64|armhf", rest), f"{stage.name}: arch-specific"


def test_the_gateway_image_has_its_data_directory(dockerfile: tuple[dict[str, str], dict[str, Stage]]) -> None:
    """Named volumes take the image folder's owner, so the unprivileged user can write there."""
    _, stages = dockerfile
    runs = " ".join(rest for keyword, rest in stages["gateway"].instructions if keyword == "RUN")
    data_dir = str(GatewaySettings.model_fields["data_dir"].default)
    assert re.search(rf"install -d -o homevitals -g homevitals -m 0750 {re.escape(data_dir)}\b", runs)


def test_the_dockerfile_documents_the_multi_arch_build() -> None:
    text = DOCKERFILE.read_text()
    assert "docker buildx build -f docker/Dockerfile --target gateway" in text
    assert "--platform linux/amd64,linux/arm64" in text


# ---- build context -------------------------------------------------------------------------
def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(.dockerignore) patterns as (is_exception, regex), in order; Go filepath.Match plus **."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip().strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
        patterns.append((negated, re.compile(regex)))
    return patterns


def in_build_context(relative: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, pattern in dockerignore_patterns():
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return not excluded


def test_the_build_context_holds_every_file_the_build_needs(
    dockerfile: tuple[dict[str, str], dict[str, Stage]],
) -> None:
    _, stages = dockerfile
    copied: list[str] = []
    for stage in stages.values():
        for keyword, rest in stage.instructions:
            if keyword == "COPY" and "--from" not in rest:
                copied += rest.split()[:-1]
    packages = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert set(packages) <= set(copied), "every package of the wheel is copied"
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= set(copied)
    for source in copied:
        path = REPO_ROOT / source
        assert path.exists(), f"COPY {source}: missing"
        files = [path] if path.is_file() else [
            p for p in path.rglob("*") if p.is_file() and not {"__pycache__", "generated"} & set(p.parts)
        ]
        for file in files:
            relative = file.relative_to(REPO_ROOT).as_posix()
            assert in_build_context(relative), f"{relative} is copied but .dockerignore leaves it out"


@pytest.mark.parametrize(
    "path",
    [".env", ".venv/bin/python", ".git/config", "tests/conftest.py", "deploy/db/create_login_roles.py",
     "homevitals/__pycache__/cli.cpython-311.pyc", "var/demo/postgres/PG_VERSION", "docs/contract.md"],
)
def test_the_build_context_leaves_out_secrets_and_local_state(path: str) -> None:
    assert not in_build_context(path)


def test_the_dockerignore_matcher_is_live() -> None:
    """Negative control: files the build copies are in the context."""
    assert in_build_context("homevitals/cli.py")
    assert in_build_context("pyproject.toml")
    assert in_build_context("simulator/scenarios/household.yaml")
