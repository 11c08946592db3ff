"""The Dockerfile, read statically (no Docker daemon needed): a small parser turns it into
instructions per build stage, and the final stage is checked against the project itself
(pyproject's console scripts, `marketplace serve --help`)."""
from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


# --- a small Dockerfile parser ------------------------------------------------------------------

@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, ...
    value: str  # the rest of the logical line, continuations joined
    line: int

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction (CMD ["a", "b"]), else None."""
        text = self.value.strip()
        if not text.startswith("["):
            return None
        parsed = json.loads(text)
        assert isinstance(parsed, list) and all(isinstance(item, str) for item in parsed), self
        return parsed


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages). Handles comments, parser directives and `\\` continuations."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped, as Docker does
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].rstrip())
            continue
        pending.append(stripped)
        logical = " ".join(part for part in pending if part)
        pending = []
        keyword, _, value = logical.partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip(), start))
    assert not pending, "the Dockerfile ends inside a continued line"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.value.split()
            words = [w for w in words if not w.startswith("--platform")]
            base = substitute(words[0], global_args)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            assert len(words) in (1, 3), f"line {instruction.line}: FROM {instruction.value}"
            stages.append(Stage(base, name))
        elif not stages:
            assert instruction.keyword == "ARG", f"line {instruction.line}: only ARG may precede FROM"
            key, _, default = instruction.value.partition("=")
            global_args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append(instruction)
    return global_args, stages


def substitute(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m[1], m[0]), text)


def env_pairs(stage: Stage) -> dict[str, str]:
    pairs = {}
    for instruction in stage.all("ENV"):
        for word in shlex.split(instruction.value):
            key, sep, value = word.partition("=")
            assert sep, f"line {instruction.line}: use ENV key=value"
            pairs[key] = value
    return pairs


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parsed():
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def stages(parsed):
    return parsed[1]


@pytest.fixture(scope="module")
def final(stages):
    return stages[-1]


@pytest.fixture(scope="module")
def builder(stages):
    (stage,) = [s for s in stages if s.name == "builder"]
    return stage


def marketplace_command() -> list[str]:
    script = Path(sys.executable).parent / "marketplace"
    if script.exists():
        return [str(script)]
    found = shutil.which("marketplace")
    if found:
        return [found]
    return [sys.executable, "-m", "app.cli"]


def cli_help(*args: str) -> str:
    result = subprocess.run([*marketplace_command(), *args, "--help"], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- the parser itself --------------------------------------------------------------------------

def test_parser_handles_continuations_and_comments():
    _, (stage,) = parse_dockerfile(
        "# syntax=docker/dockerfile:1\nARG BASE=python:3.11-slim\nFROM ${BASE} AS one\n"
        "RUN a \\\n    # a comment\n    && b\nCMD [\"x\", \"--y\"]\n")
    assert (stage.base, stage.name) == ("python:3.11-slim", "one")
    assert stage.last("RUN").value == "a && b"
    assert stage.last("CMD").exec_form == ["x", "--y"]


# --- stages ---------------------------------------------------------------------------------------

def test_two_python_slim_stages(stages, builder, final):
    assert len(stages) == 2
    assert builder.base == final.base == "python:3.11-slim"
    assert final.name != "builder" and final is not builder


def test_builder_makes_wheels_of_the_project_and_its_dependencies(builder):
    runs = " ".join(i.value for i in builder.all("RUN"))
    assert "pip wheel --no-deps -w /wheels ." in runs
    # the locked versions
    assert re.search(r"pip wheel -c constraints.txt -w /wheels \S*marketplace-\*\.whl", runs), runs


def test_builder_copies_every_package_the_wheel_includes(builder):
    copied = set()
    for instruction in builder.all("COPY"):
        words = [w for w in instruction.value.split() if not w.startswith("--")]
        copied.update(Path(source).parts[0] for source in words[:-1])
    assert {"pyproject.toml", "README.md", "constraints.txt"} <= copied
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools["packages"]["find"]["include"]
    packages = {p.name for p in ROOT.iterdir()
                if (p / "__init__.py").exists() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)}
    assert packages and packages <= copied, f"not copied into the builder: {sorted(packages - copied)}"


def test_final_stage_installs_wheels_without_build_tools(final):
    runs = " ".join(i.value for i in final.all("RUN"))
    assert re.search(r"pip install --no-index --find-links /wheels marketplace", runs), runs
    assert "from=builder" in runs
    assert not re.search(r"\b(apt-get|apk|gcc|build-essential|make)\b", runs), runs


def test_final_stage_runs_as_a_non_root_user(final):
    user = final.last("USER")
    assert user is not None, "the final stage needs a USER"
    uid = user.value.split(":")[0]
    assert uid == "10001" and uid not in ("0", "root")
    runs = " ".join(i.value for i in final.all("RUN"))
    assert re.search(r"useradd .*--uid 10001", runs), runs
    # USER comes after the RUN steps that need root.
    last_run = max(i.line for i in final.all("RUN"))
    assert user.line > last_run


def test_final_stage_environment_and_ports(final):
    assert env_pairs(final)["MARKETPLACE_DATA_DIR"] == "/data"
    exposed = {port for i in final.all("EXPOSE") for port in i.value.split()}
    assert exposed == {"8080", "8081"}


def test_healthcheck_asks_the_api_or_the_worker_within_its_timeout(final):
    healthcheck = final.last("HEALTHCHECK")
    assert healthcheck is not None, "the final stage needs a HEALTHCHECK"
    _, _, command = healthcheck.value.partition("CMD ")
    # The same image runs the API (8080) or the worker (MARKETPLACE_WORKER_PORT): the command asks both.
    argv = json.loads(command)
    assert argv[:2] == ["marketplace", "healthcheck"]
    probe_timeout = float(argv[argv.index("--timeout") + 1])
    docker_timeout = re.search(r"--timeout=(\d+)s", healthcheck.value)
    assert docker_timeout and probe_timeout < int(docker_timeout.group(1))


def test_entrypoint_is_the_projects_console_script(final):
    entrypoint = final.last("ENTRYPOINT")
    assert entrypoint is not None and entrypoint.exec_form == ["marketplace"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "marketplace" in scripts


def test_cmd_is_a_valid_serve_invocation(final):
    cmd = final.last("CMD").exec_form
    assert cmd == ["serve", "--production", "--host", "0.0.0.0", "--port", "8080"]
    assert re.search(r"^\s+serve\s", cli_help(), re.MULTILINE)
    serve_help = cli_help(cmd[0])
    for flag in (word for word in cmd if word.startswith("--")):
        assert re.search(rf"(^|\s){re.escape(flag)}\b", serve_help), f"{flag} is not in `marketplace serve --help`"
    # Click accepts the arguments as they are (types and ranges), without running the server.
    from app.cli import main

    with main.make_context("marketplace", list(cmd), resilient_parsing=False) as context:
        command = main.get_command(context, cmd[0])
        with command.make_context(cmd[0], list(cmd[1:]), parent=context) as sub:
            assert sub.params["production"] is True
            assert sub.params["host"] == "0.0.0.0"
            assert sub.params["port"] == 8080


# --- .dockerignore ------------------------------------------------------------------------------

def dockerignore_patterns() -> list[str]:
    return [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_dockerignore_keeps_local_state_out():
    patterns = set(dockerignore_patterns())
    for required in (".venv", ".git", "**/__pycache__", "*.db", ".marketplace-secret-key",
                     ".pytest_cache", ".hypothesis", "tests"):
        assert required in patterns, required


def test_dockerignore_keeps_what_the_build_copies(builder):
    patterns = [p for p in dockerignore_patterns() if not p.startswith("!")]
    for instruction in builder.all("COPY"):
        for source in (w for w in instruction.value.split()[:-1] if not w.startswith("--")):
            for pattern in patterns:
                assert not fnmatch.fnmatch(source, pattern.removeprefix("**/")), \
                    f"COPY {source} is excluded by .dockerignore pattern {pattern}"
