"""The Kubernetes objects of the reference homelab (and variants), against what the spec says."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bulkhead.errors import SpecError
from bulkhead.placement import PlacementResult, plan
from bulkhead.render import render_cluster_objects, render_tree
from bulkhead.spec import Homelab, K3sEnvironment, Workload
from bulkhead.spec.quantity import Quantity
from tests.render.specs import EXAMPLES, find, objects_of, pod_spec, variant

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def objects(example: Homelab, example_placement: PlacementResult) -> list[Obj]:
    return render_cluster_objects(example, example_placement)


def cluster(spec: Homelab) -> K3sEnvironment:
    env = spec.environments["cluster"]
    assert isinstance(env, K3sEnvironment)
    return env


def container(obj: Obj) -> Obj:
    containers: list[Obj] = pod_spec(obj)["containers"]
    assert len(containers) == 1
    return containers[0]


def test_every_object_carries_the_inventory_labels(objects: list[Obj]) -> None:
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "bulkhead", obj["metadata"]
        assert labels["bulkhead.dev/homelab"] == "attic", obj["metadata"]
        assert labels["app.kubernetes.io/part-of"] == "attic", obj["metadata"]


def test_workload_objects_carry_the_recommended_labels(objects: list[Obj]) -> None:
    deployment = find(objects, "Deployment", "bible-api")
    for labels in (
        deployment["metadata"]["labels"],
        deployment["spec"]["template"]["metadata"]["labels"],
    ):
        assert labels["app.kubernetes.io/name"] == "bible-api"
        assert labels["app.kubernetes.io/component"] == "service"
        assert labels["app.kubernetes.io/version"] == "1.4.2"
    assert deployment["spec"]["selector"] == {"matchLabels": {"bulkhead.dev/workload": "bible-api"}}


def test_each_declared_namespace_names_itself(example: Homelab, objects: list[Obj]) -> None:
    namespaces = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Namespace"}
    assert set(namespaces) == set(example.namespaces)
    for name, obj in namespaces.items():
        assert obj["metadata"]["labels"]["kubernetes.io/metadata.name"] == name
    assert namespaces["data"]["metadata"]["labels"]["bulkhead.dev/sensitive"] == "true"
    assert "bulkhead.dev/sensitive" not in namespaces["apps"]["metadata"]["labels"]


def test_pod_security_level_is_the_strictest_every_pod_meets(
    example: Homelab, objects: list[Obj]
) -> None:
    levels = {
        o["metadata"]["name"]: o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for o in objects
        if o["kind"] == "Namespace"
    }
    for namespace, level in levels.items():
        members = [w for w in example.workloads.values() if w.namespace == namespace]
        backups = [v.backup for w in members for v in w.volumes.values() if v.backup]
        nfs = any(example.backups.targets[b.to].type == "nfs" for b in backups)
        if any(w.security.privileged for w in members):
            assert level == "privileged", namespace
        else:  # an nfs volume (the backup's repository) is not in "restricted"
            assert level == ("baseline" if nfs else "restricted"), namespace
    assert set(levels.values()) == {"privileged", "baseline", "restricted"}


def _cpu(workload: Workload) -> int:
    assert workload.resources.cpu is not None
    return workload.resources.cpu.millis


def _memory(workload: Workload) -> int:
    assert workload.resources.memory is not None
    return workload.resources.memory.units


def test_quota_fits_every_replica_plus_one_replacement(
    example: Homelab, objects: list[Obj]
) -> None:
    apps = [w for w in example.workloads.values() if w.namespace == "apps"]
    hard = find(objects, "ResourceQuota", "bulkhead", "apps")["spec"]["hard"]
    cpu = sum(_cpu(w) * w.replicas for w in apps) + max(_cpu(w) for w in apps)
    memory = sum(_memory(w) * w.replicas for w in apps) + max(_memory(w) for w in apps)
    assert Quantity.parse(hard["requests.cpu"]).millis == cpu
    assert Quantity.parse(hard["requests.memory"]).units == memory
    assert hard["pods"] == str(sum(w.replicas for w in apps) + 1)
    assert hard["services.nodeports"] == "0"
    assert hard["services.loadbalancers"] == "0"


def test_quota_counts_claims_and_backup_jobs(example: Homelab, objects: list[Obj]) -> None:
    data = {n: w for n, w in example.workloads.items() if w.namespace == "data"}
    hard = find(objects, "ResourceQuota", "bulkhead", "data")["spec"]["hard"]
    sizes = [v.size.units for w in data.values() for v in w.volumes.values()]
    assert Quantity.parse(hard["requests.storage"]).units == sum(sizes)
    assert hard["persistentvolumeclaims"] == str(len(sizes))
    # every replica, the surge pod of a single-replica Deployment without volumes, one pod per
    # backup CronJob, and one spare
    surges = [w for w in data.values() if w.class_.value != "database" and w.replicas == 1]
    backups = [v for w in data.values() for v in w.volumes.values() if v.backup]
    pods = sum(w.replicas for w in data.values()) + len(surges) + len(backups) + 1
    assert hard["pods"] == str(pods)


def test_limit_range_gives_defaults_to_containers_that_declare_nothing(objects: list[Obj]) -> None:
    ranges = [o for o in objects if o["kind"] == "LimitRange"]
    assert {o["metadata"]["namespace"] for o in ranges} == {"apps", "platform", "ci", "data"}
    item = ranges[0]["spec"]["limits"][0]
    assert item["type"] == "Container"
    assert set(item["defaultRequest"]) == {"cpu", "memory"}
    assert "memory" in item["default"]


def test_database_is_a_statefulset_on_the_fast_tier_pinned_where_placed(
    example: Homelab, example_placement: PlacementResult, objects: list[Obj]
) -> None:
    statefulset = find(objects, "StatefulSet", "postgres")
    node = example_placement.of("postgres")[0].node
    terms = pod_spec(statefulset)["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    expressions = {e["key"]: e["values"] for e in terms["nodeSelectorTerms"][0]["matchExpressions"]}
    assert expressions["bulkhead.dev/storage-tier"] == ["fast"]
    assert expressions["kubernetes.io/hostname"] == [node]
    assert statefulset["spec"]["serviceName"] == "postgres-headless"
    headless = find(objects, "Service", "postgres-headless")
    assert headless["spec"]["clusterIP"] == "None"
    template = statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    claim = find(objects, "PersistentVolumeClaim", f"{template}-postgres-0")
    storage = cluster(example).nodes[node].storage
    assert storage is not None
    assert claim["spec"]["storageClassName"] == storage.class_


def test_replicated_service_is_spread_and_budgeted(objects: list[Obj]) -> None:
    deployment = find(objects, "Deployment", "bible-api")
    spec = pod_spec(deployment)
    selector = {"matchLabels": {"bulkhead.dev/workload": "bible-api"}}
    assert spec["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": selector,
        }
    ]
    anti = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti == [{"labelSelector": selector, "topologyKey": "kubernetes.io/hostname"}]
    # replicas repel each other, so a rollout takes one down before it brings one up
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    budget = find(objects, "PodDisruptionBudget", "bible-api")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == selector


def test_single_replica_has_no_budget_and_surges(objects: list[Obj]) -> None:
    redis = find(objects, "Deployment", "redis")
    assert "topologySpreadConstraints" not in pod_spec(redis)
    assert redis["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert not [
        o
        for o in objects
        if o["kind"] == "PodDisruptionBudget" and o["metadata"]["name"] == "redis"
    ]


def test_memory_limit_defaults_to_the_request_and_cpu_is_never_capped(
    example: Homelab, objects: list[Obj]
) -> None:
    for name in ("bible-api", "search-api"):
        workload = example.workloads[name]
        resources = container(find(objects, "Deployment", name))["resources"]
        limit = workload.limits.memory or workload.resources.memory
        assert limit is not None
        assert Quantity.parse(resources["limits"]["memory"]).units == limit.units
        assert "cpu" not in resources["limits"]
        assert Quantity.parse(resources["requests"]["cpu"]) == workload.resources.cpu


def test_probes_follow_health(objects: list[Obj]) -> None:
    web = container(find(objects, "Deployment", "bible-api"))
    assert web["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    database = container(find(objects, "StatefulSet", "postgres"))
    assert database["readinessProbe"]["tcpSocket"] == {"port": "pg"}
    assert (
        database["startupProbe"]["failureThreshold"] * database["startupProbe"]["periodSeconds"]
        >= 120
    )
    assert "readinessProbe" not in container(find(objects, "Deployment", "act-runner"))


def test_restricted_security_context_by_default(objects: list[Obj]) -> None:
    deployment = find(objects, "Deployment", "bible-api")
    spec = pod_spec(deployment)
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container(deployment)["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }
    assert {"name": "bulkhead-tmp", "mountPath": "/tmp"} in container(deployment)["volumeMounts"]
    assert spec["automountServiceAccountToken"] is False


def test_declared_privileges_are_honoured(objects: list[Obj]) -> None:
    gitea = container(find(objects, "Deployment", "gitea"))
    assert gitea["securityContext"]["readOnlyRootFilesystem"] is False
    assert all(m["mountPath"] != "/tmp" for m in gitea.get("volumeMounts", []))
    runner = find(objects, "Deployment", "act-runner")
    assert container(runner)["securityContext"]["privileged"] is True
    assert "runAsNonRoot" not in pod_spec(runner)["securityContext"]
    postgres = pod_spec(find(objects, "StatefulSet", "postgres"))["securityContext"]
    assert postgres["runAsUser"] == postgres["runAsGroup"] == postgres["fsGroup"] == 999


def test_arch_affinity_comes_from_platforms(objects: list[Obj]) -> None:
    terms = pod_spec(find(objects, "Deployment", "search-api"))["affinity"]["nodeAffinity"]
    expressions = terms["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"
    ]
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]} in expressions


def test_service_and_ingress(example: Homelab, objects: list[Obj]) -> None:
    service = find(objects, "Service", "bible-api")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}
    ]
    ingress = find(objects, "Ingress", "bible-api")
    assert ingress["spec"]["ingressClassName"] == cluster(example).ingress.class_
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "bible.lab.home"
    assert rule["http"]["paths"][0]["backend"] == {
        "service": {"name": "bible-api", "port": {"name": "http"}}
    }
    assert not [
        o for o in objects if o["kind"] == "Ingress" and o["metadata"]["name"] == "notes-api"
    ]


def test_off_cluster_api_is_a_selectorless_service_per_consuming_namespace(
    objects: list[Obj],
) -> None:
    services = [
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "embeddings"
    ]
    assert [s["metadata"]["namespace"] for s in services] == ["apps"]
    assert "selector" not in services[0]["spec"]
    assert services[0]["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}
    ]
    slices = [
        o for o in objects if o["kind"] == "EndpointSlice" and o["metadata"]["namespace"] == "apps"
    ]
    embeddings = next(
        s for s in slices if s["metadata"]["labels"]["kubernetes.io/service-name"] == "embeddings"
    )
    assert (
        embeddings["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "bulkhead.dev"
    )
    assert embeddings["addressType"] == "IPv4"
    assert embeddings["endpoints"] == [
        {"addresses": ["192.168.1.20"], "conditions": {"ready": True}}
    ]
    assert embeddings["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_backup_cronjob_reads_the_claim_and_writes_only_to_the_target(
    example: Homelab, objects: list[Obj]
) -> None:
    in_cluster = [w for w in example.workloads.values() if w.namespace]
    backed_up = [v for w in in_cluster for v in w.volumes.values() if v.backup]
    assert len([o for o in objects if o["kind"] == "CronJob"]) == len(backed_up)
    job = find(objects, "CronJob", "backup-postgres-data")
    backup = example.workloads["postgres"].volumes["data"].backup
    assert backup is not None
    assert job["metadata"]["namespace"] == "data"
    assert job["spec"]["schedule"] == backup.schedule
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    spec = pod_spec(job)
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {
        "claimName": "data-postgres-0",
        "readOnly": True,
    }
    assert volumes["repository"]["nfs"] == {"server": "nas.lan", "path": "/backups"}
    assert not any("hostPath" in v or "emptyDir" in v for v in spec["volumes"])
    script = container(job)["command"][-1]
    assert "--no-cache" in script
    assert f"--keep-last {backup.retain}" in script
    assert spec["securityContext"]["runAsUser"] == 999
    labels = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert "bulkhead.dev/workload" not in labels
    policy = find(objects, "NetworkPolicy", job["metadata"]["name"])
    assert policy["spec"] == {
        "podSelector": {"matchLabels": {"bulkhead.dev/backup": labels["bulkhead.dev/backup"]}},
        "policyTypes": ["Ingress", "Egress"],
    }


@pytest.mark.parametrize(
    ("url", "repository", "egress_to"),
    [
        (
            "s3://10.0.0.9:9000/backups",
            "s3:https://10.0.0.9:9000/backups/attic/data/postgres-data",
            {"cidr": "10.0.0.9/32"},
        ),
        (
            "s3://minio.lan/backups",
            "s3:https://minio.lan/backups/attic/data/postgres-data",
            {"cidr": "0.0.0.0/0", "except": ["10.42.0.0/16", "10.43.0.0/16"]},
        ),
    ],
)
def test_backup_to_s3_opens_only_its_endpoint(url: str, repository: str, egress_to: Obj) -> None:
    spec = variant(lambda d: d["backups"]["targets"].update(nas={"type": "s3", "url": url}))
    objects = objects_of(spec)
    job = find(objects, "CronJob", "backup-postgres-data")
    env = {e["name"]: e["value"] for e in container(job)["env"]}
    assert env["RESTIC_REPOSITORY"] == repository
    assert not any("nfs" in v for v in pod_spec(job)["volumes"])
    port = int(url.split(":")[2].split("/")[0]) if url.count(":") == 2 else 443
    egress = find(objects, "NetworkPolicy", job["metadata"]["name"])["spec"]["egress"]
    assert egress == [
        {"to": [{"ipBlock": egress_to}], "ports": [{"protocol": "TCP", "port": port}]}
    ]


def test_secret_env_refers_to_the_secret_by_name(example: Homelab, objects: list[Obj]) -> None:
    env = container(find(objects, "Deployment", "gitea"))["env"]
    gitea = example.workloads["gitea"]
    for variable, value in gitea.env.items():
        assert {"name": variable, "value": value} in env
    for variable, reference in gitea.secret_env.items():
        secret, key = reference.split(".", 1)
        ref = {"secretKeyRef": {"name": secret, "key": key}}
        assert {"name": variable, "valueFrom": ref} in env
    assert len(env) == len(gitea.env) + len(gitea.secret_env)


def test_config_files_are_mounted_read_only_and_roll_the_pods(objects: list[Obj]) -> None:
    text = (EXAMPLES / "config" / "postgres-init.sh").read_text()
    config = find(objects, "ConfigMap", "postgres-files")
    assert list(config["data"].values()) == [text]
    key = next(iter(config["data"]))
    mounts = container(find(objects, "StatefulSet", "postgres"))["volumeMounts"]
    path = "/docker-entrypoint-initdb.d/10-gitea.sh"
    assert {"name": "bulkhead-files", "mountPath": path, "subPath": key, "readOnly": True} in mounts

    def digest(spec: Homelab) -> str:
        sts = find(objects_of(spec), "StatefulSet", "postgres")
        return str(sts["spec"]["template"]["metadata"]["annotations"]["bulkhead.dev/files-sha256"])

    def inline(content: str) -> Homelab:
        return variant(
            lambda d: d["workloads"]["postgres"]["files"].update({path: {"content": content}})
        )

    assert digest(inline("a")) != digest(inline("b"))
    assert digest(inline("a")) == digest(inline("a"))


def test_command_and_args_replace_entrypoint_and_arguments() -> None:
    def edit(data: Obj) -> None:
        data["workloads"]["notes-api"] |= {
            "command": ["uvicorn"],
            "args": ["app:main", "--port", "8000"],
        }

    deployment = find(objects_of(variant(edit)), "Deployment", "notes-api")
    assert container(deployment)["command"] == ["uvicorn"]
    assert container(deployment)["args"] == ["app:main", "--port", "8000"]


def test_taints_and_tolerations_reach_nodes_and_pods() -> None:
    def edit(data: Obj) -> None:
        data["environments"]["cluster"]["nodes"]["pi-4"]["taints"] = ["dedicated=db:NoSchedule"]
        for name in ("postgres", "redis"):
            data["workloads"][name]["placement"] = {"tolerations": ["dedicated=db:NoSchedule"]}

    spec = variant(edit)
    placement = plan(spec)
    files = render_tree(spec, placement)
    assert (
        "kubectl taint node pi-4 --overwrite dedicated=db:NoSchedule" in files["cluster/nodes.sh"]
    )
    assert "node-taint:\n- dedicated=db:NoSchedule\n" in files["cluster/k3s-config/pi-4.yaml"]
    assert (
        "node-label:\n- bulkhead.dev/storage-tier=fast\n" in files["cluster/k3s-config/pi-4.yaml"]
    )
    statefulset = find(render_cluster_objects(spec, placement), "StatefulSet", "postgres")
    toleration = {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
    assert pod_spec(statefulset)["tolerations"] == [toleration]


def test_nodes_script_labels_every_node_with_its_tier(
    example: Homelab, example_tree: dict[str, str]
) -> None:
    script = example_tree["cluster/nodes.sh"]
    for name, node in cluster(example).nodes.items():
        assert node.storage is not None
        tier = node.storage.tier.value
        assert f"kubectl label node {name} --overwrite bulkhead.dev/storage-tier={tier}" in script


def test_prune_script_lists_exactly_the_rendered_objects(
    objects: list[Obj], example_tree: dict[str, str]
) -> None:
    script = example_tree["cluster/prune.sh"]
    listed = re.search(r"<<'RENDERED'\n(.*?)\nRENDERED\n", script, re.S)
    assert listed is not None
    rows = set(listed[1].splitlines())
    kept = {"Namespace", "PersistentVolumeClaim"}
    expected = {
        f"{o['kind']}/{o['metadata']['namespace']}/{o['metadata']['name']}"
        for o in objects
        if o["kind"] not in kept
    }
    assert rows == expected


def test_invalid_schedule_is_a_located_spec_error() -> None:
    def edit(data: Obj) -> None:
        data["workloads"]["postgres"]["volumes"]["data"]["backup"]["schedule"] = "61 3 * * *"

    spec = variant(edit)
    with pytest.raises(SpecError) as raised:
        render_cluster_objects(spec, plan(spec))
    (problem,) = raised.value.problems
    assert problem.location == spec.locate(
        "workloads", "postgres", "volumes", "data", "backup", "schedule"
    )
    assert "minute" in problem.message


def test_unreachable_backup_target_is_a_located_spec_error() -> None:
    spec = variant(
        lambda d: d["backups"]["targets"].update(nas={"type": "restic", "url": "sftp:nas:/x"})
    )
    with pytest.raises(SpecError) as raised:
        render_tree(spec, plan(spec))
    (problem,) = raised.value.problems
    assert problem.location == spec.locate("backups", "targets", "nas", "url")


def test_fields_newer_than_the_cluster_are_left_out() -> None:
    spec = variant(lambda d: d["environments"]["cluster"].update(version="1.26"))
    objects = objects_of(spec)
    assert (
        "unhealthyPodEvictionPolicy"
        not in find(objects, "PodDisruptionBudget", "bible-api")["spec"]
    )
    assert (
        "persistentVolumeClaimRetentionPolicy"
        not in find(objects, "StatefulSet", "postgres")["spec"]
    )
    namespace = find(objects, "Namespace", "apps")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] == "v1.26"


def test_a_service_name_must_start_with_a_letter() -> None:
    def edit(data: Obj) -> None:
        data["workloads"]["9notes"] = data["workloads"].pop("notes-api")

    spec = variant(edit)
    with pytest.raises(SpecError) as raised:
        render_cluster_objects(spec, plan(spec))
    (problem,) = raised.value.problems
    assert problem.location == spec.source.locate_key("workloads", "9notes")
    assert "start with a letter" in problem.message


def test_quota_counts_a_limit_without_request_as_the_request() -> None:
    def edit(data: Obj) -> None:
        data["workloads"]["notes-api"]["resources"] = {}
        data["workloads"]["notes-api"]["limits"] = {"memory": "2Gi"}

    objects = objects_of(variant(edit))
    assert container(find(objects, "Deployment", "notes-api"))["resources"] == {
        "limits": {"memory": "2Gi"}
    }
    hard = find(objects, "ResourceQuota", "bulkhead", "apps")["spec"]["hard"]
    # Kubernetes sets the missing request to the limit: two replicas, and the spare is this pod
    assert Quantity.parse(hard["requests.memory"]).units >= 3 * 2**31
