"""docker-compose.yml, its mounted scripts and the Dockerfile, checked without a Docker engine.

What is checked: the service graph (every dependency exists, waits on a healthcheck or a finished one-shot),
that the variables given to our containers are real ``Settings`` fields and agree with the published port and
the databases, that every ``${VAR}`` has a default (no .env needed), that the mounted scripts exist, parse and
behave (run against stub ``nc``/``temporal``/``temporal-sql-tool``), and which ``networkcore`` subcommands
compose relies on (``NETWORKCORE_COMMANDS``, for a CLI test to check against the parser).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from config.settings import Settings
from workflows.search_attributes import ALL

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INIT_SQL = ROOT / "deploy" / "postgres" / "init-networkcore.sql"
SETUP_POSTGRES = ROOT / "deploy" / "temporal" / "setup-postgres.sh"
CREATE_NAMESPACE = ROOT / "deploy" / "temporal" / "create-namespace.sh"
DYNAMIC_CONFIG = ROOT / "deploy" / "temporal" / "dynamicconfig" / "development-sql.yaml"

ONE_SHOT_SERVICES = frozenset({"temporal-admin-tools", "temporal-create-namespace", "networkcore-setup"})
LONG_RUNNING_SERVICES = frozenset({"postgresql", "temporal", "temporal-ui", "api", "worker"})
OUR_SERVICES = frozenset({"networkcore-setup", "api", "worker"})
APP_SERVICES = frozenset({"api", "worker"})

# The `networkcore` subcommands compose runs (as commands or healthchecks). A CLI test can check that
# cli.main's parser accepts each of them.
NETWORKCORE_COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    {("api",), ("worker",), ("setup",), ("healthcheck", "api"), ("healthcheck", "worker")}
)

# The versions of temporalio/samples-server compose/.env (docs/temporal.md §6.1).
EXPECTED_DEFAULT_VERSIONS = {
    "POSTGRESQL_VERSION": "16",
    "TEMPORAL_VERSION": "1.30.1",
    "TEMPORAL_ADMINTOOLS_VERSION": "1.30.1",
    "TEMPORAL_UI_VERSION": "2.34.0",
}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}; `$${...}` is an escaped literal for the container.
INTERPOLATION = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


# -- helpers -------------------------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml must be a mapping"
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found = load_compose().get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services mapping"
    return found


def interpolate(value: str) -> str:
    """What compose substitutes when no variable is set; a variable without a default is an error."""

    def default(match: re.Match[str]) -> str:
        if match["op"] not in (":-", "-"):
            raise AssertionError(f"${{{match['name']}}} has no default, so compose would need a .env: {value!r}")
        return match["arg"]

    return INTERPOLATION.sub(default, value).replace("$$", "$")


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment (mapping or list form), with compose's defaults substituted."""
    raw = service.get("environment", {})
    pairs: dict[str, str] = {}
    if isinstance(raw, list):
        for item in raw:
            name, _, value = str(item).partition("=")
            pairs[name] = value
    else:
        pairs = {str(name): "" if value is None else str(value) for name, value in raw.items()}
    return {name: interpolate(value) for name, value in pairs.items()}


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """Dependency -> condition; the short list form means `service_started`."""
    raw = service.get("depends_on", {})
    if isinstance(raw, list):
        return {str(name): "service_started" for name in raw}
    return {str(name): str((spec or {}).get("condition", "service_started")) for name, spec in raw.items()}


def bind_mounts(service: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """(host path in the repo, container path) of the ./relative bind mounts."""
    mounts: list[tuple[Path, str]] = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target = str(volume.get("source", "")), str(volume.get("target", ""))
        else:
            source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            mounts.append((ROOT / source, target))
    return mounts


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(host part, container port) of each published port, short or long syntax."""
    ports: list[tuple[str, int]] = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((str(port.get("published", "")), int(port["target"])))
        else:
            host, _, container = interpolate(str(port)).split("/")[0].rpartition(":")
            ports.append((host, int(container)))
    return ports


def as_argv(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(part) for part in value]


def networkcore_invocations(service: Mapping[str, Any]) -> Iterator[tuple[str, ...]]:
    """The `networkcore ...` argument tuples a service runs, as its command or its healthcheck."""
    healthcheck = service.get("healthcheck") or {}
    for argv in (as_argv(service.get("command")), as_argv(healthcheck.get("test"))):
        if argv[:1] in (["CMD"], ["CMD-SHELL"]):
            argv = argv[1:]
        if argv[:1] == ["networkcore"]:
            yield tuple(argv[1:])


def settings_env_names() -> set[str]:
    """The environment variable names Settings reads."""
    names: set[str] = set()
    prefix = str(Settings.model_config.get("env_prefix", ""))
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def search_attribute_names_in(text: str) -> set[str]:
    """Names given to `temporal operator search-attribute create --name X` (or tctl add-search-attributes)."""
    names: set[str] = set()
    for command in re.findall(r"(?:search-attribute create|add-search-attributes?)\b[^\n]*(?:\n\s+--[^\n]*)*", text):
        names.update(re.findall(r"--name[= ]+\"?([A-Za-z_][A-Za-z0-9_]*)", command))
    return names


def settings_from(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def write_stub(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def run_with_stubs(script: Path, stubs: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    shell = shutil.which("sh")
    assert shell is not None
    return subprocess.run(
        [shell, str(script)],
        env={"PATH": f"{stubs}{os.pathsep}/usr/bin{os.pathsep}/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


# -- the service graph ---------------------------------------------------------------------------------------


def test_compose_parses_and_has_the_expected_services() -> None:
    assert set(services()) == ONE_SHOT_SERVICES | LONG_RUNNING_SERVICES


def test_every_dependency_exists_and_waits_on_health_or_completion() -> None:
    all_services = services()
    for name, service in all_services.items():
        for target, condition in depends_on(service).items():
            assert target in all_services, f"{name} depends on unknown service {target}"
            if target in ONE_SHOT_SERVICES:
                assert condition == "service_completed_successfully", f"{name} -> {target}: {condition}"
            else:
                assert condition == "service_healthy", f"{name} -> {target}: {condition}"
                healthcheck = all_services[target].get("healthcheck") or {}
                assert healthcheck.get("test"), f"{target} is depended on but has no healthcheck"
                assert not healthcheck.get("disable"), f"{target} disables its healthcheck"


def test_long_running_services_restart_and_one_shots_do_not_loop() -> None:
    for name, service in services().items():
        restart = str(service.get("restart", "no"))
        if name in ONE_SHOT_SERVICES:
            assert restart == "no" or restart.startswith("on-failure"), f"{name}: restart={restart}"
        else:
            assert restart in {"always", "unless-stopped"}, f"{name}: restart={restart}"


def test_healthchecks_are_exec_form_commands() -> None:
    for name, service in services().items():
        if "healthcheck" not in service:
            continue
        test = as_argv((service["healthcheck"] or {}).get("test"))
        assert test[:1] in (["CMD"], ["CMD-SHELL"]), f"{name}: healthcheck test {test}"
        assert len(test) > 1, f"{name}: empty healthcheck"


def test_start_order_schemas_server_namespace_setup_app() -> None:
    all_services = services()
    for name in APP_SERVICES:
        assert depends_on(all_services[name]).get("networkcore-setup") == "service_completed_successfully"
    setup = depends_on(all_services["networkcore-setup"])
    assert setup.get("postgresql") == "service_healthy"
    assert setup.get("temporal") == "service_healthy"
    assert setup.get("temporal-create-namespace") == "service_completed_successfully"
    assert depends_on(all_services["temporal"]).get("temporal-admin-tools") == "service_completed_successfully"


# -- variables, versions, images -----------------------------------------------------------------------------


def test_every_variable_has_a_default_so_no_env_file_is_needed() -> None:
    text = COMPOSE_FILE.read_text()
    found = list(INTERPOLATION.finditer(text))
    assert found, "expected ${VAR:-default} interpolations in docker-compose.yml"
    for match in found:
        assert match["op"] in (":-", "-"), f"{match.group(0)} has no default"
        assert match["arg"], f"{match.group(0)} has an empty default"


def test_image_versions_default_to_the_samples_server_ones() -> None:
    text = COMPOSE_FILE.read_text()
    defaults = {match["name"]: match["arg"] for match in INTERPOLATION.finditer(text) if match["op"] == ":-"}
    for name, version in EXPECTED_DEFAULT_VERSIONS.items():
        assert defaults.get(name) == version, f"{name} defaults to {defaults.get(name)}, expected {version}"
    all_services = services()
    images = {name: interpolate(str(service.get("image", ""))) for name, service in all_services.items()}
    assert images["postgresql"] == "postgres:16"
    assert images["temporal"] == "temporalio/server:1.30.1"
    assert images["temporal-admin-tools"] == images["temporal-create-namespace"] == "temporalio/admin-tools:1.30.1"
    assert images["temporal-ui"] == "temporalio/ui:2.34.0"
    # The schema the admin tools apply must be the one the server expects.
    assert images["temporal"].rpartition(":")[2] == images["temporal-admin-tools"].rpartition(":")[2]


def test_our_services_share_one_image_built_from_the_dockerfile() -> None:
    all_services = services()
    images = {all_services[name].get("image") for name in OUR_SERVICES}
    assert len(images) == 1, f"our services use different images: {images}"
    for name in OUR_SERVICES:
        build = all_services[name].get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        dockerfile = "Dockerfile" if isinstance(build, str) else (build or {}).get("dockerfile", "Dockerfile")
        assert context == ".", f"{name}: build context {context}"
        assert (ROOT / str(context) / str(dockerfile)).is_file()


def test_app_env_names_are_settings_fields() -> None:
    known = settings_env_names()
    assert "DATABASE_URL" in known
    assert "NETWORKCORE_API_PORT" in known
    for name in OUR_SERVICES:
        env = environment(services()[name])
        assert "DATABASE_URL" in env, f"{name} has no DATABASE_URL"
        assert "NETWORKCORE_TEMPORAL_ADDRESS" in env, f"{name} has no NETWORKCORE_TEMPORAL_ADDRESS"
        foreign = set(env) - known
        assert not foreign, f"{name} sets variables that are not Settings fields: {sorted(foreign)}"


def test_app_settings_agree_with_compose(monkeypatch: pytest.MonkeyPatch) -> None:
    all_services = services()
    api_env = environment(all_services["api"])
    api = settings_from(api_env, monkeypatch)
    assert api.api_host == "0.0.0.0"
    assert [container for _, container in published_ports(all_services["api"])] == [api.api_port]
    assert urlsplit(api.public_base_url).port == api.api_port
    assert urlsplit(api.public_base_url).hostname == "api"

    temporal_ports = [container for _, container in published_ports(all_services["temporal"])]
    for name in OUR_SERVICES:
        settings = settings_from(environment(all_services[name]), monkeypatch)
        host, _, port = settings.temporal_address.partition(":")
        assert host == "temporal", f"{name}: {settings.temporal_address}"
        assert int(port) in temporal_ports
        assert settings.temporal_namespace == api.temporal_namespace


def test_database_url_points_at_the_app_database(monkeypatch: pytest.MonkeyPatch) -> None:
    all_services = services()
    postgres_env = environment(all_services["postgresql"])
    created = re.findall(r"CREATE DATABASE (\w+)", INIT_SQL.read_text(), flags=re.IGNORECASE)
    assert created, f"{INIT_SQL} creates no database"
    for name in OUR_SERVICES:
        url = urlsplit(settings_from(environment(all_services[name]), monkeypatch).database_url)
        assert url.scheme in {"postgresql", "postgresql+psycopg", "postgres"}, f"{name}: {url.scheme}"
        assert url.hostname == "postgresql"
        assert url.port == 5432
        assert url.path.lstrip("/") in created, f"{name} uses {url.path}, the init script creates {created}"
        assert url.path.lstrip("/") not in {"temporal", "temporal_visibility"}
        assert url.username == postgres_env["POSTGRES_USER"]
        assert url.password == postgres_env["POSTGRES_PASSWORD"]


def test_temporal_credentials_match_postgres() -> None:
    all_services = services()
    postgres_env = environment(all_services["postgresql"])
    for name in ("temporal-admin-tools", "temporal"):
        env = environment(all_services[name])
        assert env["DB"] == "postgres12"
        assert env["POSTGRES_SEEDS"] == "postgresql"
        assert env["POSTGRES_USER"] == postgres_env["POSTGRES_USER"]
        assert env["POSTGRES_PWD"] == postgres_env["POSTGRES_PASSWORD"]
    assert environment(all_services["temporal-admin-tools"])["SQL_PASSWORD"] == postgres_env["POSTGRES_PASSWORD"]


def test_namespace_created_is_the_one_the_app_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    all_services = services()
    created = environment(all_services["temporal-create-namespace"])["DEFAULT_NAMESPACE"]
    for name in OUR_SERVICES:
        assert settings_from(environment(all_services[name]), monkeypatch).temporal_namespace == created
    assert environment(all_services["temporal-ui"]).get("TEMPORAL_DEFAULT_NAMESPACE", "default") == created


def test_temporal_ui_points_at_temporal() -> None:
    ui = services()["temporal-ui"]
    env = environment(ui)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "TEMPORAL_CORS_ORIGINS" in env
    assert [container for _, container in published_ports(ui)] == [8080]


def test_temporal_ui_is_read_only_unless_an_operator_enables_writes() -> None:
    raw = services()["temporal-ui"]["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"]
    match = INTERPOLATION.fullmatch(raw)
    assert match is not None, "the UI's write switch must come from an operator's variable"
    assert match["name"] == "TEMPORAL_UI_DISABLE_WRITE_ACTIONS"
    assert environment(services()["temporal-ui"])["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"


def test_only_loopback_for_the_ops_ports() -> None:
    for name in ("postgresql", "temporal", "temporal-ui"):
        for host, _ in published_ports(services()[name]):
            assert host.startswith("127.0.0.1:"), f"{name} publishes {host} beyond loopback"


def test_postgres_data_lives_in_a_named_volume() -> None:
    declared = load_compose().get("volumes") or {}
    volumes = [str(volume) for volume in services()["postgresql"].get("volumes", [])]
    data = [volume for volume in volumes if volume.split(":")[1:2] == ["/var/lib/postgresql/data"]]
    assert len(data) == 1, f"postgresql data volume: {volumes}"
    assert data[0].split(":")[0] in declared


# -- search attributes and networkcore commands --------------------------------------------------------------


def test_search_attribute_extraction_finds_cli_names() -> None:
    text = (
        "temporal operator search-attribute create --namespace default\n"
        "  --name SessionStage --type Keyword --name NeedsAttention --type Bool\n"
    )
    assert search_attribute_names_in(text) == {"SessionStage", "NeedsAttention"}
    assert search_attribute_names_in("temporal operator namespace create --name x") == set()


def test_search_attributes_registered_in_compose_match_the_code() -> None:
    texts = [COMPOSE_FILE.read_text()]
    for service in services().values():
        texts += [host.read_text() for host, _ in bind_mounts(service) if host.is_file()]
    registered = search_attribute_names_in("\n".join(texts))
    if registered:
        assert registered == {key.name for key in ALL}
    else:
        # The only registration path is `networkcore setup`, which registers workflows.search_attributes.ALL.
        assert ("setup",) in set(networkcore_invocations(services()["networkcore-setup"]))


def test_networkcore_commands_are_the_ones_compose_uses() -> None:
    used: set[tuple[str, ...]] = set()
    for name, service in services().items():
        invocations = set(networkcore_invocations(service))
        if name not in OUR_SERVICES:
            assert not invocations, f"{name} runs networkcore but is not built from our image"
        used |= invocations
    assert used == NETWORKCORE_COMMANDS
    expected: dict[str, set[tuple[str, ...]]] = {
        "networkcore-setup": {("setup",)},
        "api": {("api",), ("healthcheck", "api")},
        "worker": {("worker",), ("healthcheck", "worker")},
    }
    for name, wanted in expected.items():
        assert set(networkcore_invocations(services()[name])) == wanted, name


# -- mounted files -------------------------------------------------------------------------------------------


def test_mounted_files_exist_and_are_used() -> None:
    all_services = services()
    mounted = {host for service in all_services.values() for host, _ in bind_mounts(service)}
    assert {INIT_SQL, SETUP_POSTGRES, CREATE_NAMESPACE, DYNAMIC_CONFIG.parent} <= mounted
    for name, service in all_services.items():
        command = as_argv(service.get("command"))
        for host, target in bind_mounts(service):
            assert host.exists(), f"{name} mounts {host}, which is not in the repo"
            if host.suffix == ".sh":
                assert target in command, f"{name} mounts {target} but does not run it"
    assert any(
        target.startswith("/docker-entrypoint-initdb.d/") and host == INIT_SQL
        for host, target in bind_mounts(all_services["postgresql"])
    )


@pytest.mark.parametrize("script", [SETUP_POSTGRES, CREATE_NAMESPACE], ids=lambda path: path.name)
def test_shell_scripts_parse(script: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert script.read_text().startswith("#!/bin/sh\n"), "the admin-tools images run the scripts with /bin/sh"


@pytest.mark.parametrize(
    ("script", "service"),
    [(SETUP_POSTGRES, "temporal-admin-tools"), (CREATE_NAMESPACE, "temporal-create-namespace")],
    ids=["setup-postgres", "create-namespace"],
)
def test_scripts_use_only_variables_they_set_or_get(script: Path, service: str) -> None:
    """`set -u` aborts on an unset variable (the upstream MAX_ATTdMPTS typo); catch that statically."""
    text = script.read_text()
    assigned = set(re.findall(r"^\s*([A-Za-z_]\w*)=", text, flags=re.MULTILINE))
    assigned |= set(re.findall(r"\bfor\s+([A-Za-z_]\w*)\s+in\b", text))
    given = set(environment(services()[service]))
    for match in re.finditer(r"\$(?:\{([A-Za-z_]\w*)(:?[-=?+])?|([A-Za-z_]\w*))", text):
        name, operator = match.group(1) or match.group(3), match.group(2) or ""
        if operator.endswith("?"):
            # ${X:?message} insists on X: compose must give it.
            assert name in given, f"{script.name} requires ${name}, which {service} does not get"
        elif not operator:
            assert name in assigned | given, f"{script.name} reads ${name}, which nothing sets"


def test_setup_postgres_runs_create_setup_update_for_both_databases(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    write_stub(tmp_path, "nc", "exit 0\n")
    write_stub(tmp_path, "sleep", "exit 0\n")
    write_stub(tmp_path, "temporal-sql-tool", f'echo "$*" >> "{calls}"\n')
    env = environment(services()["temporal-admin-tools"])
    result = run_with_stubs(SETUP_POSTGRES, tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    common = f"--plugin postgres12 --ep postgresql -u {env['POSTGRES_USER']} -p 5432"
    schema = "/etc/temporal/schema/postgresql/v12"
    assert calls.read_text().splitlines() == [
        f"{common} --db temporal create",
        f"{common} --db temporal setup-schema -v 0.0",
        f"{common} --db temporal update-schema -d {schema}/temporal/versioned",
        f"{common} --db temporal_visibility create",
        f"{common} --db temporal_visibility setup-schema -v 0.0",
        f"{common} --db temporal_visibility update-schema -d {schema}/visibility/versioned",
    ]


def test_setup_postgres_fails_when_a_step_fails(tmp_path: Path) -> None:
    write_stub(tmp_path, "nc", "exit 0\n")
    write_stub(tmp_path, "sleep", "exit 0\n")
    write_stub(tmp_path, "temporal-sql-tool", 'case "$*" in *update-schema*) exit 3;; esac\n')
    result = run_with_stubs(SETUP_POSTGRES, tmp_path, environment(services()["temporal-admin-tools"]))
    assert result.returncode != 0


def test_create_namespace_retries_until_the_namespace_is_visible(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    created = tmp_path / "created"
    seen = tmp_path / "seen"
    write_stub(tmp_path, "nc", "exit 0\n")
    write_stub(tmp_path, "sleep", "exit 0\n")
    # The first create fails (cluster still warming up), the second succeeds, later ones fail (already
    # exists); `describe` sees the namespace only on its second call after the successful create.
    write_stub(
        tmp_path,
        "temporal",
        f"""echo "$*" >> "{calls}"
case "$*" in
  *"cluster health"*) exit 0 ;;
  *"namespace create"*)
    if [ "$(grep -c "namespace create" "{calls}")" -eq 2 ]; then : > "{created}"; exit 0; fi
    exit 1 ;;
  *"namespace describe"*)
    [ -f "{created}" ] || exit 1
    echo seen >> "{seen}"
    if [ "$(wc -l < "{seen}")" -ge 2 ]; then exit 0; fi
    exit 1 ;;
esac
exit 2
""",
    )
    env = environment(services()["temporal-create-namespace"])
    result = run_with_stubs(CREATE_NAMESPACE, tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = calls.read_text().splitlines()
    creates = [line for line in lines if line.startswith("operator namespace create")]
    describes = [line for line in lines if line.startswith("operator namespace describe")]
    assert (len(creates), len(describes)) == (3, 4)
    assert all(f"-n {env['DEFAULT_NAMESPACE']}" in line for line in creates + describes)
    assert all(f"--retention {env['DEFAULT_NAMESPACE_RETENTION']}" in line for line in creates)
    assert lines[-1] == describes[-1], "the script must end on a describe that saw the namespace"


def test_create_namespace_gives_up_after_max_attempts(tmp_path: Path) -> None:
    write_stub(tmp_path, "nc", "exit 0\n")
    write_stub(tmp_path, "sleep", "exit 0\n")
    write_stub(tmp_path, "temporal", 'case "$*" in *"cluster health"*) exit 0;; esac\nexit 1\n')
    env = {**environment(services()["temporal-create-namespace"]), "TEMPORAL_HEALTH_CHECK_MAX_ATTEMPTS": "3"}
    result = run_with_stubs(CREATE_NAMESPACE, tmp_path, env)
    assert result.returncode == 1
    assert "after 3 attempts" in result.stderr


def test_dynamic_config_is_production_safe() -> None:
    config = yaml.safe_load(DYNAMIC_CONFIG.read_text())
    assert isinstance(config, dict)
    assert config["limit.maxIDLength"] == [{"value": 255, "constraints": {}}]
    assert "system.forceSearchAttributesCacheRefreshOnRead" not in config
    env = environment(services()["temporal"])
    assert env["DYNAMIC_CONFIG_FILE_PATH"] == f"config/dynamicconfig/{DYNAMIC_CONFIG.name}"
    assert (DYNAMIC_CONFIG.parent, "/etc/temporal/config/dynamicconfig") in bind_mounts(services()["temporal"])


# -- image ---------------------------------------------------------------------------------------------------


def test_dockerfile_installs_the_lock_and_runs_as_non_root() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip()]
    instructions = [line for line in lines if not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    text = "\n".join(instructions)
    assert "pip install --no-cache-dir -r requirements.lock" in text
    assert "pip install --no-cache-dir --no-deps ." in text
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users, "the image runs as root"
    assert users[-1] not in {"root", "0"}


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".venv", ".data", ".git", ".env", ".mypy_cache", ".pytest_cache", ".ruff_cache"} <= patterns
    # What the image build needs must stay in the context.
    for needed in ("requirements.lock", "pyproject.toml", "README.md", "persistence", "cli"):
        assert needed not in patterns


def test_every_networkcore_command_compose_runs_exists_in_the_cli() -> None:
    from cli.main import parser

    for command in NETWORKCORE_COMMANDS:
        # argparse exits on an unknown sub-command or choice; a known one parses.
        parser().parse_args(list(command))
