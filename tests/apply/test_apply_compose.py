"""Compose services → Engine create arguments, and the plan that reconciles them (pure)."""

from __future__ import annotations

import pytest

from bulkhead.apply.compose import CONFIG_HASH, ComposeError, container_specs, skipped_services
from bulkhead.apply.deploy import StepKind, plan_docker
from bulkhead.apply.engine import LiveContainer

GATEWAY = {
    "image": "git.lab.home/me/bulkhead-gateway:0.1.0",
    "restart": "unless-stopped",
    "ports": ["192.168.1.20:8080:8080", {"target": 9090, "published": 9090, "host_ip": "10.0.0.1"}],
    "volumes": [
        "/srv/bulkhead/gateway/state:/var/lib/bulkhead-gateway",
        {"type": "bind", "source": "/etc/gw", "target": "/config", "read_only": True},
    ],
    "healthcheck": {
        "test": "wget -qO- http://127.0.0.1:8080/readyz",
        "interval": "1m30s",
        "timeout": "500ms",
        "start_period": 20,
        "retries": 3,
    },
    "deploy": {
        "resources": {
            "limits": {"cpus": "4", "memory": "16g"},
            "reservations": {
                "memory": "8Gi",
                "devices": [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}],
            },
        }
    },
    "logging": {"driver": "json-file", "options": {"max-size": "10m"}},
}


def spec(service: dict, name: str = "gateway"):
    (only,) = container_specs({"services": {name: service}}, homelab="attic", environment="gpu")
    return only


def test_a_gateway_service_becomes_engine_create_arguments():
    options = spec(GATEWAY).options

    assert options["nano_cpus"] == 4_000_000_000
    assert options["mem_limit"] == 16 * 2**30
    assert options["mem_reservation"] == 8 * 2**30
    assert options["device_requests"] == [
        {"Driver": "nvidia", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}
    ]
    assert options["ports"] == {"8080/tcp": ("192.168.1.20", 8080), "9090/tcp": ("10.0.0.1", 9090)}
    assert options["volumes"] == {
        "/srv/bulkhead/gateway/state": {"bind": "/var/lib/bulkhead-gateway", "mode": "rw"},
        "/etc/gw": {"bind": "/config", "mode": "ro"},
    }
    assert options["healthcheck"] == {
        "test": ["CMD-SHELL", "wget -qO- http://127.0.0.1:8080/readyz"],
        "interval": 90_000_000_000,
        "timeout": 500_000_000,
        "start_period": 20_000_000_000,
        "retries": 3,
    }
    assert options["restart_policy"] == {"Name": "unless-stopped"}
    assert options["log_config"] == {"type": "json-file", "config": {"max-size": "10m"}}


def test_names_labels_and_network_follow_the_project():
    found = container_specs(
        {"name": "gpu", "services": {"ollama": {"image": "ollama/ollama:0.5.4"}}},
        homelab="attic",
        environment="gpu",
    )[0]

    assert (found.name, found.network) == ("gpu-ollama", "gpu_default")
    labels = found.options["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "bulkhead"
    assert labels["bulkhead.dev/homelab"] == "attic"
    assert labels["bulkhead.dev/service"] == "ollama"
    assert labels[CONFIG_HASH] == found.config_hash


def test_the_hash_changes_with_the_configuration_and_only_then():
    same = spec(dict(GATEWAY)).config_hash
    other = spec({**GATEWAY, "environment": {"BATCH": "64"}}).config_hash

    assert spec(GATEWAY).config_hash == same
    assert other != same


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"image": "x", "build": "."}, "compose key 'build' is not supported"),
        ({"build": "."}, "no image"),
        ({"image": "x", "healthcheck": {"test": "true", "interval": "soon"}}, "not a duration"),
        ({"image": "x", "deploy": {"resources": {"limits": {"memory": "lots"}}}}, "byte value"),
        ({"image": "x", "deploy": {"replicas": 2}}, "one container per service"),
        ({"image": "x", "ports": ["8000-8010:8000-8010"]}, "is not [ip:]host:container"),
        ({"image": "x", "restart": "sometimes"}, "not a restart policy"),
    ],
)
def test_what_bulkhead_cannot_deploy_is_an_error_naming_it(service, message):
    with pytest.raises(ComposeError) as refused:
        spec(service)
    assert message in str(refused.value)
    assert "service gateway" in str(refused.value)


def live(service: str, name: str, config_hash: str, status: str = "running", image: str = "i1"):
    labels = {"bulkhead.dev/service": service, CONFIG_HASH: config_hash}
    return LiveContainer(f"id-{name}", name, labels, image, status, None)


def test_the_plan_creates_recreates_starts_keeps_and_removes():
    api, worker, new = (
        spec({"image": "a"}, "api"),
        spec({"image": "b"}, "worker"),
        spec({"image": "c"}, "new"),
    )
    running = [
        live("api", api.name, api.config_hash),
        live("worker", worker.name, "stale"),
        live("old", "gpu-old", "x"),
    ]

    steps = plan_docker([api, worker, new], running, {"a": "i1", "b": "i1", "c": None})

    assert [(s.kind, s.name, s.reason) for s in steps] == [
        (StepKind.unchanged, api.name, ""),
        (StepKind.recreate, worker.name, "configuration changed"),
        (StepKind.create, new.name, "new service"),
        (StepKind.remove, "gpu-old", "service old is no longer declared"),
    ]


def test_a_new_image_id_or_a_stopped_container_is_noticed():
    api = spec({"image": "a"}, "api")

    (recreate,) = plan_docker([api], [live("api", api.name, api.config_hash)], {"a": "i2"})
    (start,) = plan_docker(
        [api], [live("api", api.name, api.config_hash, status="exited")], {"a": "i1"}
    )

    assert (recreate.kind, recreate.reason) == (StepKind.recreate, "image a changed")
    assert (start.kind, start.reason) == (StepKind.start, "exited")


def test_duplicates_of_a_service_are_removed_keeping_the_named_one():
    api = spec({"image": "a"}, "api")
    both = [live("api", api.name, api.config_hash), live("api", "api-copy", api.config_hash)]

    steps = plan_docker([api], both, {"a": "i1"})

    assert [(s.kind, s.name) for s in steps] == [
        (StepKind.unchanged, api.name),
        (StepKind.remove, "api-copy"),
    ]


def test_services_in_a_profile_run_only_when_it_is_active():
    document = {
        "services": {
            "api": {"image": "a"},
            "embed": {"image": "b", "profiles": ["batch"]},
            "backup": {"image": "c", "profiles": ["backup"]},
        }
    }

    default = container_specs(document, homelab="attic", environment="gpu")
    batch = container_specs(
        document, homelab="attic", environment="gpu", profiles=frozenset({"batch"})
    )

    assert [s.service for s in default] == ["api"]
    assert [s.service for s in batch] == ["api", "embed"]
    assert skipped_services(document) == ("backup", "embed")


def test_env_files_come_from_the_caller_and_a_required_one_must_be_there():
    service = {
        "image": "a",
        "environment": {"MODE": "prod"},
        "env_file": [{"path": "secrets/api.env", "required": True}, "optional.env"],
    }
    document = {"services": {"api": {**service, "env_file": [service["env_file"][0]]}}}
    provided = {"secrets/api.env": {"DB_PASSWORD": "x", "MODE": "ignored"}}

    (found,) = container_specs(document, homelab="attic", environment="gpu", env_files=provided)

    assert found.options["environment"] == {"DB_PASSWORD": "x", "MODE": "prod"}
    with pytest.raises(ComposeError, match=r"env_file secrets/api\.env is required"):
        container_specs(document, homelab="attic", environment="gpu")


def test_the_rendered_reference_homelab_translates():
    from bulkhead.placement import plan
    from bulkhead.render import render_compose
    from bulkhead.spec import load_spec

    spec = load_spec("examples/homelab.yaml")
    (document,) = render_compose(spec, plan(spec)).values()

    specs = container_specs(document, homelab="attic", environment="gpu")

    gateway = next(s for s in specs if s.service == "gateway")
    assert gateway.files[0][0] == "/etc/bulkhead/gateway.yaml"
    assert gateway.options["device_requests"][0]["Capabilities"] == [["gpu"]]
    assert gateway.options["ports"] == {"8080/tcp": ("192.168.1.20", 8080)}
