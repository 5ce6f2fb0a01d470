"""The doctor's rule table: every diagnosis it can make, one row each, ids never reused.

Ids are ``DR-<LAYER>-<NNN>`` (CLU cluster, GPU the GPU machine, CI the pipelines). ``rank``
orders causes before symptoms: a NotReady node explains its pods, a failed deploy explains
drift. ``docs/doctor.md`` can be generated from this table like the checks' rules.
"""

from __future__ import annotations

from bulkhead.doctor.model import Layer, Rule, Severity

E, W, I = Severity.error, Severity.warning, Severity.info  # noqa: E741
CLU, GPU, CI = Layer.cluster, Layer.gpu, Layer.ci

RULES: tuple[Rule, ...] = (
    Rule(
        "DR-CLU-001",
        "node not ready",
        CLU,
        E,
        10,
        "The kubelet on the node stopped reporting: every pod on it is stuck or evicted.",
        "Check the node's power and network, then `journalctl -u k3s-agent` (k3s on a server).",
    ),
    Rule(
        "DR-CLU-002",
        "node under memory pressure",
        CLU,
        E,
        20,
        "The kubelet is evicting pods because the node ran short of memory; k3s reserves "
        "nothing for itself, so the k3s server process competes with your pods.",
        "Lower memory requests and limits of what runs there, or move workloads off the node.",
    ),
    Rule(
        "DR-CLU-003",
        "node under disk pressure",
        CLU,
        E,
        20,
        "The node's disk (often an SD card) is nearly full: images are garbage-collected and "
        "pods evicted.",
        "Free space: prune images (`k3s crictl rmi --prune`), move volumes to bigger storage.",
    ),
    Rule(
        "DR-CLU-004",
        "node under PID pressure",
        CLU,
        W,
        20,
        "The node is running out of process IDs: something forks without bound.",
        "Find the pod with the most processes and give it a pids limit.",
    ),
    Rule(
        "DR-CLU-005",
        "node nearly fully requested",
        CLU,
        W,
        40,
        "Requests on the node are close to what it can allocate: the next rollout or a node "
        "failure leaves pods Pending.",
        "Lower requests, add a node, or spread workloads (bulkhead plan shows the headroom).",
    ),
    Rule(
        "DR-CLU-006",
        "node cordoned",
        CLU,
        I,
        45,
        "The node is marked unschedulable: nothing new lands there.",
        "`kubectl uncordon <node>` once its maintenance is done.",
    ),
    Rule(
        "DR-CLU-010",
        "pod cannot be scheduled",
        CLU,
        E,
        30,
        "The scheduler found no node for the pod; its own message says which predicate "
        "failed on how many nodes.",
        "Lower the workload's requests or free capacity; `bulkhead plan` explains per node.",
    ),
    Rule(
        "DR-CLU-011",
        "container OOMKilled",
        CLU,
        E,
        30,
        "The container used more memory than its limit and the kernel killed it: a memory "
        "limit problem, not a crash in the code.",
        "Raise the workload's memory limit (limits.memory) or make it use less memory.",
    ),
    Rule(
        "DR-CLU-012",
        "image built for another CPU architecture",
        CLU,
        E,
        25,
        "`exec format error`: the image has no variant for the node's architecture — the "
        "arm64 trap of an amd64-only image on a Raspberry Pi.",
        "Build the image for linux/arm64 (docker buildx --platform linux/arm64,linux/amd64) "
        "and list both in the workload's platforms.",
    ),
    Rule(
        "DR-CLU-013",
        "image cannot be pulled",
        CLU,
        E,
        30,
        "The kubelet cannot pull the image: a wrong name or tag, a private registry without "
        "credentials, or the registry is down.",
        "Check the image reference and that the node can reach and log in to the registry.",
    ),
    Rule(
        "DR-CLU-014",
        "container crash-looping",
        CLU,
        E,
        35,
        "The container keeps exiting and the kubelet backs off between restarts.",
        "Read the previous log: `kubectl logs -p -n <namespace> <pod>`.",
    ),
    Rule(
        "DR-CLU-015",
        "container restarting",
        CLU,
        W,
        50,
        "The container runs but has restarted several times: it crashes under some input or "
        "its liveness probe is too strict.",
        "Read the previous log (`kubectl logs -p`) and check the liveness probe's timing.",
    ),
    Rule(
        "DR-CLU-016",
        "container cannot be configured",
        CLU,
        E,
        30,
        "The kubelet cannot create the container: a Secret or ConfigMap it needs is missing.",
        "Create the missing Secret or ConfigMap (`bulkhead apply` creates declared secrets).",
    ),
    Rule(
        "DR-CLU-020",
        "drift from the render",
        CLU,
        W,
        60,
        "An object bulkhead owns differs from what the spec renders: someone changed it by "
        "hand, or the last deploy did not finish.",
        "Run `bulkhead diff` to see the change, then `bulkhead apply` (or fix the spec).",
    ),
    Rule(
        "DR-GPU-001",
        "container not running",
        GPU,
        E,
        15,
        "A container bulkhead deployed on the GPU machine has stopped or keeps restarting.",
        "Read its log (`docker logs <name>`), then `bulkhead apply` to start it again.",
    ),
    Rule(
        "DR-GPU-002",
        "container unhealthy",
        GPU,
        E,
        20,
        "The container runs but its health check fails.",
        "Read the health check output (`docker inspect <name>`) and the container log.",
    ),
    Rule(
        "DR-GPU-003",
        "declared service not deployed",
        GPU,
        E,
        20,
        "The spec declares a service on the GPU machine and no container runs it.",
        "Run `bulkhead apply` for the GPU environment.",
    ),
    Rule(
        "DR-GPU-010",
        "gateway not answering",
        GPU,
        E,
        10,
        "The gateway's /readyz does not answer: cluster services calling the GPU machine's "
        "APIs fail.",
        "Check the gateway container (`docker ps`, `docker logs`) and its port binding.",
    ),
    Rule(
        "DR-GPU-011",
        "gateway up but not ready",
        GPU,
        E,
        20,
        "The gateway answers but says it cannot serve: a model is not loaded, its state "
        "database is not writable, or a required upstream is down.",
        "Fix the failing readiness check it names (model files, disk, Ollama/vLLM).",
    ),
    Rule(
        "DR-GPU-012",
        "gateway queue growing",
        GPU,
        E,
        30,
        "Inputs wait longer and longer for the GPU: demand exceeds what the model serves.",
        "Find who sends the load (requests by service), lower its rate limit, or add capacity.",
    ),
    Rule(
        "DR-GPU-013",
        "gateway rejecting requests",
        GPU,
        W,
        40,
        "Admission refused requests (queue full, GPU memory low): callers get 429s.",
        "Raise queue sizes only if the GPU keeps up; otherwise rate-limit the heaviest caller.",
    ),
    Rule(
        "DR-GPU-014",
        "GPU memory nearly full",
        GPU,
        W,
        40,
        "The GPU's memory is almost all in use: the next model load or batch fails.",
        "Stop an experiment, lower a model's batch size, or pin fewer models to this GPU.",
    ),
    Rule(
        "DR-GPU-015",
        "GPU not visible to the gateway",
        GPU,
        W,
        35,
        "NVML does not answer inside the gateway: it runs on the CPU, slowly.",
        "Check the NVIDIA driver and container toolkit (`nvidia-smi`, `docker info`).",
    ),
    Rule(
        "DR-CI-001",
        "deploy failed",
        CI,
        E,
        25,
        "The last run of a deploy workflow failed: what runs is not what the spec says.",
        "Open the run's log in Gitea, fix the cause, and re-run the workflow.",
    ),
    Rule(
        "DR-CI-002",
        "deploy waiting for a runner",
        CI,
        W,
        45,
        "A deploy run has been queued for a long time: no runner with its labels is online.",
        "Check the runner (act_runner) that carries the workflow's runs-on labels.",
    ),
    Rule(
        "DR-CI-003",
        "workflow failed",
        CI,
        W,
        55,
        "The last run of a workflow (not a deploy) failed.",
        "Open the run's log in Gitea.",
    ),
)

BY_ID = {rule.id: rule for rule in RULES}


def rule(rule_id: str) -> Rule:
    """A rule by id."""
    return BY_ID[rule_id]
