"""compose.yaml and deploy/ cannot be run here (no Docker engine), so they are checked for
coherence: the shape the README describes, names that resolve, files that exist, and a
configuration HAProxy itself accepts."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml

from tests.cluster.harness import HAPROXY_CONFIG, ROOT, haproxy_binary

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _services_running(compose: dict, command: str) -> int:
    return sum(
        s.get("deploy", {}).get("replicas", 1)
        for s in compose["services"].values()
        if s.get("command") == ["wizyta", command]
    )


def test_compose_runs_two_web_replicas_behind_haproxy_and_two_workers(compose):
    assert _services_running(compose, "serve") == 2
    assert _services_running(compose, "worker") == 2
    haproxy = compose["services"]["haproxy"]
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in haproxy["volumes"]
    for name in ("web1", "web2"):
        assert compose["services"][name]["healthcheck"]["test"][-1].count("/readyz") == 1
        host, port = haproxy["environment"][name.upper()].split(":")
        assert host == name and port == compose["services"][name]["environment"]["PORT"]


def test_compose_connects_the_app_to_the_primary_and_the_standby_by_one_url(compose):
    url = urlsplit(compose["services"]["migrate"]["environment"]["DATABASE_URL"])
    hosts = [h.split(":")[0] for h in url.netloc.split("@")[1].split(",")]
    assert hosts == ["postgres-primary", "postgres-standby"]
    assert "target_session_attrs=read-write" in url.query
    assert all(h in compose["services"] for h in hosts)


def test_every_dependency_and_mounted_file_of_compose_exists(compose):
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}"
            else:
                assert source in compose["volumes"], f"{name} mounts {source}"


def test_compose_gives_haproxy_every_variable_its_configuration_names(compose):
    names = set(re.findall(r"\$\{(\w+)\}", HAPROXY_CONFIG.read_text()))
    assert names == set(compose["services"]["haproxy"]["environment"])


def test_haproxy_accepts_the_configuration_with_composes_addresses(compose):
    binary = haproxy_binary()
    if binary is None:
        pytest.skip("HAProxy is not installed: make haproxy")
    env = {k: str(v) for k, v in compose["services"]["haproxy"]["environment"].items()}
    checked = subprocess.run(
        [binary, "-c", "-f", str(HAPROXY_CONFIG)], env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
