"""The container image and the deploy manifests: Dockerfile, .dockerignore, deploy/entrypoint.sh,
deploy/docker-compose.yml and deploy/k8s/.

Nothing here can be built or applied on this machine (no Docker engine, no cluster), so these
tests read the files and check what would break a deploy: a COPY of a file that is missing or
outside the build context, a probe on the wrong path or port, a selector that matches no pod
(or another component's), a setting production requires that no ConfigMap or Secret provides,
a command that is not a `smallfavor` subcommand. The entrypoint itself runs, against stub
`smallfavor` and `gunicorn` executables that record how they were called. hadolint and
shellcheck lint the Dockerfile and the script when their binaries are installed (the `test`
extra installs both); under CI=true a missing binary fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from service.cli import cli
from service.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"

# Values that pass Settings' checks, for variables whose real values live in a Secret or in
# an operator's env file.
FAKE_VALUES = {
    "DATABASE_URL": "postgresql://smallfavor:pw@postgres:5432/smallfavor",
    "REDIS_URL": "redis://redis:6379/0",
    "PUBLIC_URL": "https://banners.example.org",
    "ALLOWED_ORIGINS": "https://news.example.org",
    # Random per run: production refuses published, repeated or shared secrets.
    "SECRET_KEY": secrets.token_urlsafe(48),
    "WEBHOOK_SECRET": secrets.token_urlsafe(48),
}
FAKE_SECRET = "Zk3q9-fake-secret-for-manifest-tests-0123456789"
# Never in a ConfigMap or a literal value: they are, or contain, credentials.
SECRET_VARIABLES = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEBHOOK_SECRET", "SMTP_PASSWORD"}
API_VERSIONS = {
    "ConfigMap": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
}
# What each component's container must end up running (after the entrypoint).
EXPECTED_PROGRAM = {
    "web": ("gunicorn",),
    "flusher": ("smallfavor", "flush"),
    "scheduler": ("smallfavor", "schedule"),
    "migrate": ("smallfavor", "migrate"),
    "export": ("smallfavor", "export"),
}


def _ci() -> bool:
    return os.environ.get("CI") == "true"


def _tool(name: str) -> str:
    """The path of a linter binary: next to this interpreter (the venv) or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (pip install '.[test]' installs it)"
        if _ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return found


# ---------------------------------------------------------------------------------------------
# Dockerfile


@dataclass
class Instruction:
    line: int
    keyword: str
    flags: dict[str, str]
    args: str

    def words(self) -> list[str]:
        """Arguments in exec (JSON) form or shell form, as a list."""
        if self.args.startswith("["):
            parsed: list[str] = json.loads(self.args)
            return parsed
        return shlex.split(self.args)


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for word in shlex.split(instruction.args):
                name, _, value = word.partition("=")
                values[name] = value
        return values


def parse_dockerfile(text: str) -> list[Stage]:
    instructions: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may also sit inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        keyword, _, rest = " ".join(buffer).partition(" ")
        buffer = []
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        instructions.append(Instruction(start, keyword.upper(), flags, rest))
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, words[0]))
        else:
            assert stages, f"line {instruction.line}: {instruction.keyword} before FROM"
            stages[-1].instructions.append(instruction)
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match plus `**`) as a regular expression."""
    pattern = pattern.strip("/")
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore_excludes(path: str, ignore_text: str) -> bool:
    """Whether the build context leaves `path` out: the last pattern matching the path or one
    of its parent directories decides, `!` patterns put it back (Docker's rules)."""
    parents = ["/".join(path.split("/")[: n + 1]) for n in range(path.count("/") + 1)]
    excluded = False
    for line in ignore_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        regex = _dockerignore_regex(line.lstrip("!").strip())
        if any(regex.fullmatch(parent) for parent in parents):
            excluded = not negate
    return excluded


def _context_files(source: str) -> list[str]:
    """The files a COPY source names, relative to the repository root."""
    matches = sorted(ROOT.glob(source))
    files: list[str] = []
    for match in matches:
        if match.is_dir():
            files += [
                str(p.relative_to(ROOT))
                for p in match.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc",)
            ]
        else:
            files.append(str(match.relative_to(ROOT)))
    return files


def _copies(stages: list[Stage]) -> Iterator[tuple[Stage, Instruction, list[str], str]]:
    for stage in stages:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            *sources, destination = instruction.words()
            yield stage, instruction, sources, destination


def test_every_file_the_dockerfile_copies_exists_and_is_in_the_build_context(
    stages: list[Stage],
) -> None:
    ignore = DOCKERIGNORE.read_text()
    names = [s.name for s in stages]
    checked = 0
    for stage, instruction, sources, _ in _copies(stages):
        if "from" in instruction.flags:
            source_stage = instruction.flags["from"]
            assert source_stage in names[: names.index(stage.name)], (
                f"line {instruction.line}: COPY --from={source_stage} names no earlier stage"
            )
            continue
        for source in sources:
            files = _context_files(source)
            assert files, f"line {instruction.line}: COPY {source}: no such file in the repo"
            left_out = [f for f in files if dockerignore_excludes(f, ignore)]
            assert not left_out, (
                f"line {instruction.line}: COPY {source}: .dockerignore leaves out {left_out[:5]}"
            )
            checked += len(files)
    assert checked > 10


def test_dockerignore_keeps_local_state_and_tests_out() -> None:
    ignore = DOCKERIGNORE.read_text()
    for path in (
        ".venv/bin/python",
        "var/secret_key",
        ".git/config",
        "tests/conftest.py",
        "service/__pycache__/app.cpython-311.pyc",
        "bench/hello_app.py",
    ):
        assert dockerignore_excludes(path, ignore), f"{path} would be in the build context"
    for path in ("pyproject.toml", "service/app.py", "deploy/gunicorn.conf.py"):
        assert not dockerignore_excludes(path, ignore), f"{path} would be left out"


def test_the_wheel_build_gets_what_pyproject_needs(stages: list[Stage]) -> None:
    """`pip wheel .` fails if the readme pyproject names, or the package, is not copied."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    build = stages[0]
    copied = {
        source
        for instruction in build.all("COPY")
        for source in instruction.words()[:-1]
        if "from" not in instruction.flags
    }
    assert {"pyproject.toml", project["readme"], "service"} <= copied
    assert any("pip wheel" in i.args and "." in i.words() for i in build.all("RUN"))


def test_images_are_slim_python_311_in_several_stages(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "build and runtime stages"
    for stage in stages:
        assert re.fullmatch(
            r"python:3\.11(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", stage.base
        ), f"stage {stage.name}: base image {stage.base}"


def test_the_runtime_stage_is_non_root_with_runtime_dependencies_only(
    stages: list[Stage],
) -> None:
    runtime = stages[-1]
    users = runtime.all("USER")
    assert users, "the runtime stage sets no USER: it would run as root"
    uid = users[-1].args.split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "USER must be a numeric non-root uid (runAsNonRoot)"
    assert users[-1].line < runtime.all("ENTRYPOINT")[0].line
    env = runtime.env()
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("HOST") == "0.0.0.0", "gunicorn.conf.py binds 127.0.0.1 by default"
    assert [i.args for i in runtime.all("EXPOSE")] == [env["PORT"]]
    runs = " ".join(i.args for i in runtime.all("RUN"))
    assert not re.search(r"\b(gcc|g\+\+|build-essential|make|libc6-dev)\b", runs), runs
    installs = [i for i in runtime.all("RUN") if "pip install" in i.args]
    assert installs and all("--no-index" in i.args for i in installs), "wheels only"
    assert not re.search(r"\[(test|browser)", runs), "no dev extras in the runtime image"
    for _, instruction, sources, _ in _copies([runtime]):
        assert not any(s.startswith("tests") for s in sources), instruction


def _copied_to(stages: list[Stage], source: str) -> str:
    for _, _, sources, destination in _copies(stages[-1:]):
        if source in sources:
            return destination if not destination.endswith("/") else destination + source
    raise AssertionError(f"the runtime stage does not copy {source}")


def _entrypoint_default(name: str) -> str:
    match = re.search(rf'^{name}="\${{{name}:-([^}}]+)}}"', ENTRYPOINT.read_text(), re.M)
    assert match, f"entrypoint.sh has no default for {name}"
    return match.group(1)


def test_entrypoint_and_gunicorn_config_are_where_they_are_used(stages: list[Stage]) -> None:
    runtime = stages[-1]
    entrypoint = runtime.all("ENTRYPOINT")[-1].words()
    assert entrypoint == [_copied_to(stages, "deploy/entrypoint.sh")]
    assert runtime.all("CMD")[-1].words() == ["web"]
    assert _copied_to(stages, "deploy/gunicorn.conf.py") == _entrypoint_default("GUNICORN_CONF")
    assert os.access(ENTRYPOINT, os.X_OK), "deploy/entrypoint.sh must be executable"
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_healthcheck_asks_healthz_with_python_alone(stages: list[Stage]) -> None:
    """Run the HEALTHCHECK's command against a local server answering 200, then 503."""
    healthchecks = stages[-1].all("HEALTHCHECK")
    assert len(healthchecks) == 1
    _, _, command = healthchecks[0].args.partition("CMD ")
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"], "slim images have no curl or wget"
    server = HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "PORT": str(server.server_address[1])}
    try:
        for status, healthy in ((200, True), (503, False)):
            _Health.status = status
            result = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True)
            assert (result.returncode == 0) is healthy, (status, result.stderr)
    finally:
        server.shutdown()


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [_tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_entrypoint() -> None:
    result = subprocess.run(
        [_tool("shellcheck"), "--shell=sh", str(ENTRYPOINT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_ci_scripts() -> None:
    scripts = [ROOT / ".ci" / "run", ROOT / ".ci" / "redis-cluster"]
    result = subprocess.run(
        [_tool("shellcheck"), *map(str, scripts)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# The entrypoint, run against stubs

STUB = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
log = os.environ["STUB_LOG"]
with open(log, "a") as out:
    out.write(json.dumps({{"argv": [name, *sys.argv[1:]],
        "env": {{"WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY")}}
    }}) + "\\n")
with open(log) as calls:
    mine = sum(json.loads(line)["argv"][0] == name for line in calls)
sys.exit(1 if mine <= int(os.environ.get("STUB_FAILS_" + name.upper(), "0")) else 0)
"""


@dataclass
class Run:
    returncode: int
    calls: list[dict[str, Any]]
    stderr: str

    @property
    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls]


def run_entrypoint(tmp: Path, args: list[str], env: Mapping[str, str] | None = None) -> Run:
    bin_dir = tmp / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir(parents=True)
        for name in ("smallfavor", "gunicorn"):
            (bin_dir / name).write_text(STUB.format(python=sys.executable))
            (bin_dir / name).chmod(0o755)
    log = tmp / "calls.jsonl"
    log.unlink(missing_ok=True)
    full_env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STUB_LOG": str(log),
        "MIGRATE_RETRY_SECONDS": "0",
        "CGROUP_CPU_MAX": str(tmp / "no-cgroup"),
        **(env or {}),
    }
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=full_env, capture_output=True, text=True, timeout=30
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return Run(result.returncode, calls, result.stderr)


GUNICORN = ["gunicorn", "-c", "/app/deploy/gunicorn.conf.py", "service:create_app()"]


def test_web_migrates_then_execs_gunicorn(tmp_path: Path) -> None:
    run = run_entrypoint(tmp_path, [])
    assert run.returncode == 0, run.stderr
    assert run.argvs == [["smallfavor", "migrate"], GUNICORN]


def test_web_skips_migrating_when_told(tmp_path: Path) -> None:
    run = run_entrypoint(tmp_path, ["web"], {"MIGRATE_ON_START": "0"})
    assert run.argvs == [GUNICORN]


def test_migration_is_retried_then_given_up(tmp_path: Path) -> None:
    run = run_entrypoint(tmp_path, ["web"], {"STUB_FAILS_SMALLFAVOR": "2"})
    assert run.returncode == 0, run.stderr
    assert run.argvs == [["smallfavor", "migrate"]] * 3 + [GUNICORN]

    run = run_entrypoint(
        tmp_path, ["web"], {"STUB_FAILS_SMALLFAVOR": "99", "MIGRATE_ATTEMPTS": "4"}
    )
    assert run.returncode != 0
    assert run.argvs == [["smallfavor", "migrate"]] * 4, "bounded, and no gunicorn"
    assert "giving up" in run.stderr


@pytest.mark.parametrize(
    ("cpu_max", "given", "expected"),
    [("150000 100000", None, "3"), ("max 100000", None, None), ("400000 100000", "2", "2")],
)
def test_web_workers_follow_the_cpu_limit(
    tmp_path: Path, cpu_max: str, given: str | None, expected: str | None
) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    env = {"MIGRATE_ON_START": "0", "CGROUP_CPU_MAX": str(tmp_path / "cpu.max")}
    if given:
        env["WEB_CONCURRENCY"] = given
    run = run_entrypoint(tmp_path, ["web"], env)
    assert run.calls[-1]["env"]["WEB_CONCURRENCY"] == expected


WEEKLY = ["--schedule", "Weekly board report"]  # one argument with spaces, kept whole


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["flusher"], ["smallfavor", "flush"]),
        (["flusher", "--batch-size", "500"], ["smallfavor", "flush", "--batch-size", "500"]),
        (["scheduler"], ["smallfavor", "schedule"]),
        (["migrate"], ["smallfavor", "migrate"]),
        (["export", *WEEKLY], ["smallfavor", "export", *WEEKLY]),
        (["smallfavor", "tokens", "create"], ["smallfavor", "tokens", "create"]),
    ],
)
def test_process_names_map_to_smallfavor_commands(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    run = run_entrypoint(tmp_path, args)
    assert run.returncode == 0, run.stderr
    assert run.argvs == [expected]


def check_cli(argv: list[str]) -> None:
    """Parse argv as `smallfavor` would (options included), without running anything."""
    command: click.Command = cli
    path = ["smallfavor"]
    rest = list(argv)
    while isinstance(command, click.Group):
        assert rest, f"{' '.join(path)} needs a subcommand"
        name = rest.pop(0)
        assert name in command.commands, f"{' '.join(path)} has no subcommand {name!r}"
        command = command.commands[name]
        path.append(name)
    command.make_context(" ".join(path), rest)


def check_container_program(
    tmp: Path, component: str, args: list[str], env: Mapping[str, str]
) -> None:
    """What the container runs once the entrypoint is done, checked against its component."""
    run = run_entrypoint(tmp, args, {k: v for k, v in env.items() if k == "MIGRATE_ON_START"})
    assert run.returncode == 0, f"{component}: {run.stderr}"
    final = run.argvs[-1]
    expected = EXPECTED_PROGRAM[component]
    assert tuple(final[: len(expected)]) == expected, f"{component} runs {final}"
    if final[0] == "smallfavor":
        check_cli(final[1:])
    else:
        assert final == GUNICORN, final


# ---------------------------------------------------------------------------------------------
# Settings every process needs in production


@cache
def production_required() -> frozenset[str]:
    """The variables Settings refuses to start without in production, found by asking it."""
    env = {"SMALLFAVOR_ENV": "production", "VAR_DIR": "/nonexistent"}
    required: set[str] = set()
    for _ in range(50):
        try:
            Settings.from_env(env)
            return frozenset(required)
        except SettingsError as exc:
            match = re.match(r"(\w+) is required when SMALLFAVOR_ENV=production", str(exc))
            assert match, f"production settings fail for another reason: {exc}"
            required.add(match.group(1))
            env[match.group(1)] = FAKE_VALUES.get(match.group(1), FAKE_SECRET)
    raise AssertionError("Settings keeps asking for more")


def test_the_required_set_is_found() -> None:
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEBHOOK_SECRET"} <= production_required()


def check_production_env(where: str, env: Mapping[str, str]) -> None:
    missing = production_required() - env.keys()
    assert not missing, f"{where}: production requires {sorted(missing)}"
    assert env.get("SMALLFAVOR_ENV") == "production", where
    try:
        Settings.from_env(env)
    except SettingsError as exc:
        pytest.fail(f"{where}: {exc}")
    assert env.get("PUBLIC_URL", "").startswith("https://"), f"{where}: PUBLIC_URL"
    assert "*" not in env.get("ALLOWED_ORIGINS", "*"), f"{where}: ALLOWED_ORIGINS is open"


# ---------------------------------------------------------------------------------------------
# Kubernetes


@dataclass
class Container:
    where: str
    component: str
    spec: dict[str, Any]
    pod: dict[str, Any]


@cache
def load_k8s() -> list[dict[str, Any]]:
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                if doc is not None:
                    objects.append({**doc, "_file": path.name})
    return objects


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in load_k8s() if o["kind"] == kind]


def pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: dict[str, Any] = spec["template"]
    return template


def workloads() -> list[dict[str, Any]]:
    return [o for o in load_k8s() if o["kind"] in ("Deployment", "Job", "CronJob")]


def containers() -> list[Container]:
    found = []
    for obj in workloads():
        template = pod_template(obj)
        component = template["metadata"]["labels"]["app.kubernetes.io/component"]
        for spec in template["spec"]["containers"]:
            where = f"{obj['_file']}: {obj['kind']} {obj['metadata']['name']}/{spec['name']}"
            found.append(Container(where, component, spec, template["spec"]))
    return found


def web_deployment() -> dict[str, Any]:
    (web,) = [o for o in by_kind("Deployment") if o["metadata"]["name"].endswith("-web")]
    return web


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_port(container: dict[str, Any], port: int | str) -> int:
    for declared in container.get("ports", []):
        if port in (declared.get("name"), declared["containerPort"]):
            return int(declared["containerPort"])
    raise AssertionError(f"container {container['name']} declares no port {port!r}")


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_every_object_is_well_formed() -> None:
    seen = set()
    for obj in load_k8s():
        kind, where = obj.get("kind"), obj["_file"]
        assert kind in API_VERSIONS, f"{where}: unexpected kind {kind}"
        assert obj.get("apiVersion") == API_VERSIONS[kind], f"{where}: {kind} apiVersion"
        name = obj.get("metadata", {}).get("name")
        assert name and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), where
        assert (kind, name) not in seen, f"{where}: a second {kind} {name}"
        seen.add((kind, name))
    components = {c.component for c in containers()}
    assert components == set(EXPECTED_PROGRAM), components
    assert by_kind("Service") and by_kind("HorizontalPodAutoscaler") and by_kind("ConfigMap")


def test_selectors_match_their_own_pods_only() -> None:
    templates = {o["metadata"]["name"]: pod_template(o)["metadata"]["labels"] for o in workloads()}
    for obj in by_kind("Deployment"):
        selector = obj["spec"]["selector"]["matchLabels"]
        chosen = {name for name, labels in templates.items() if selects(selector, labels)}
        assert chosen == {obj["metadata"]["name"]}, f"{obj['metadata']['name']} selects {chosen}"
    web = web_deployment()["metadata"]["name"]
    for obj in by_kind("Service"):
        chosen = {n for n, labels in templates.items() if selects(obj["spec"]["selector"], labels)}
        assert chosen == {web}, f"Service {obj['metadata']['name']} selects {chosen}"
    for obj in by_kind("PodDisruptionBudget"):
        selector = obj["spec"]["selector"]["matchLabels"]
        assert {n for n, labels in templates.items() if selects(selector, labels)} == {web}


def test_the_service_and_the_probes_reach_the_web_port() -> None:
    web = web_deployment()
    (container,) = pod_template(web)["spec"]["containers"]
    env = container_env(Container("web", "web", container, pod_template(web)["spec"]))
    port = int(env.get("PORT") or parse_dockerfile(DOCKERFILE.read_text())[-1].env()["PORT"])
    assert container_port(container, "http") == port, "containerPort is not where gunicorn binds"
    for service in by_kind("Service"):
        for service_port in service["spec"]["ports"]:
            assert container_port(container, service_port["targetPort"]) == port
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{probe} asks {get['path']}"
        assert container_port(container, get["port"]) == port, f"{probe} port"
    if "startupProbe" in container:
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_the_hpa_scales_the_web_deployment_on_cpu() -> None:
    web = web_deployment()
    (hpa,) = by_kind("HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        web["apiVersion"],
        web["kind"],
        web["metadata"]["name"],
    )
    metrics = [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
    assert "cpu" in metrics
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert "replicas" not in web["spec"], "kubectl apply would reset what the HPA chose"


def _quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert match and match.group(2) in units, f"quantity {value!r}"
    return float(match.group(1)) * units[match.group(2)]


def test_every_container_has_requests_and_limits() -> None:
    for container in containers():
        resources = container.spec.get("resources", {})
        for resource in ("cpu", "memory"):
            request = resources.get("requests", {}).get(resource)
            limit = resources.get("limits", {}).get(resource)
            assert request and limit, f"{container.where}: {resource} request and limit"
            assert _quantity(request) <= _quantity(limit), f"{container.where}: {resource}"


def test_every_pod_runs_as_the_image_user_without_privileges(stages: list[Stage]) -> None:
    uid = int(stages[-1].all("USER")[-1].args.split(":")[0])
    for container in containers():
        merged = {**container.pod.get("securityContext", {}), **container.spec["securityContext"]}
        assert merged.get("runAsNonRoot") is True, container.where
        assert merged.get("runAsUser") == uid, f"{container.where}: not the image's uid {uid}"
        assert merged.get("allowPrivilegeEscalation") is False, container.where
        assert container.pod.get("automountServiceAccountToken") is False, container.where


def container_env(container: Container) -> dict[str, str]:
    """The environment the container gets, secrets filled with stand-ins; fails on a reference
    to a ConfigMap key that is not there or to another Secret."""
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in by_kind("ConfigMap")}
    env: dict[str, str] = {}
    for source in container.spec.get("envFrom", []):
        assert "configMapRef" in source, f"{container.where}: envFrom hides which keys it needs"
        name = source["configMapRef"]["name"]
        assert name in configmaps, f"{container.where}: no ConfigMap {name}"
        env.update(configmaps[name])
    for variable in container.spec.get("env", []):
        name = variable["name"]
        if "value" in variable:
            assert name not in SECRET_VARIABLES, f"{container.where}: {name} in plain text"
            env[name] = variable["value"]
            continue
        ref = variable["valueFrom"]
        if "configMapKeyRef" in ref:
            data = configmaps[ref["configMapKeyRef"]["name"]]
            assert ref["configMapKeyRef"]["key"] in data, f"{container.where}: {name}"
            env[name] = data[ref["configMapKeyRef"]["key"]]
        else:
            secret = ref["secretKeyRef"]
            assert secret["name"] == "smallfavor", f"{container.where}: Secret {secret['name']}"
            if not secret.get("optional"):
                env[name] = FAKE_VALUES.get(secret["key"], FAKE_SECRET)
    return env


def test_containers_get_every_setting_production_requires() -> None:
    for configmap in by_kind("ConfigMap"):
        leaked = SECRET_VARIABLES & configmap["data"].keys()
        assert not leaked, f"secrets in ConfigMap {configmap['metadata']['name']}: {leaked}"
    for container in containers():
        check_production_env(container.where, container_env(container))


def test_only_the_migration_job_migrates() -> None:
    for container in containers():
        if container.component == "web":
            assert container_env(container).get("MIGRATE_ON_START") == "0", container.where
    assert [c.component for c in containers() if "Job" in c.where].count("migrate") == 1


def test_every_container_runs_a_real_command(tmp_path: Path) -> None:
    for container in containers():
        assert "command" not in container.spec, f"{container.where}: bypasses the entrypoint"
        env = container_env(container)
        check_container_program(tmp_path, container.component, container.spec["args"], env)


def test_every_workload_uses_the_one_image() -> None:
    images = {c.spec["image"] for c in containers()}
    assert len(images) == 1, images
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert [i["name"] for i in kustomization["images"]] == list(images)


# ---------------------------------------------------------------------------------------------
# docker compose

APP_SERVICES = ("migrate", "web", "flusher", "scheduler")


def interpolate(value: str) -> str:
    """Compose's ${NAME:?message} and ${NAME:-default}, with stand-ins for required values."""

    def replace(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if operator == ":-":
            return rest
        return FAKE_VALUES.get(name, "pw" if "PASSWORD" in name else FAKE_SECRET)

    return re.sub(r"\$\{(\w+)(:[-?])([^}]*)\}", replace, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_has_every_process_and_keeps_data_on_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {*APP_SERVICES, "redis", "postgres"}
    declared = set(compose.get("volumes", {}))
    for service, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        volume = {v.split(":")[1]: v.split(":")[0] for v in services[service]["volumes"]}
        assert volume.get(path) in declared, f"{service}: {path} is not on a named volume"
        assert services[service]["healthcheck"]["test"], service
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes", "the stream needs AOF"
    for name in APP_SERVICES:
        build = services[name].get("build", {})
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1


def test_compose_services_start_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "flusher", "scheduler"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["web"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["web"]["environment"]["MIGRATE_ON_START"] == "0"
    for name in ("flusher", "scheduler", "migrate"):
        assert services[name]["healthcheck"] == {"disable": True}, f"{name} serves no /healthz"


def test_compose_settings_and_commands(compose: dict[str, Any], tmp_path: Path) -> None:
    services = compose["services"]
    postgres = {k: interpolate(v) for k, v in services["postgres"]["environment"].items()}
    for name in APP_SERVICES:
        env = {k: interpolate(str(v)) for k, v in services[name]["environment"].items()}
        check_production_env(f"compose {name}", env)
        url = env["DATABASE_URL"]
        expected_url = (
            f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
            f"@postgres:5432/{postgres['POSTGRES_DB']}"
        )
        assert url == expected_url, f"compose {name}: {url}"
        assert env["REDIS_URL"].startswith("redis://redis:"), name
        check_container_program(tmp_path, name, services[name]["command"], env)
    port = services["web"]["environment"]["PORT"]
    assert [p.rsplit(":", 1)[1] for p in services["web"]["ports"]] == [port]
