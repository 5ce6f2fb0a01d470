"""Apply: push the rendered state to the live layers, and only what bulkhead owns.

- :mod:`.kube` — the cluster adapter (lightkube): kubeconfig context choice, server-side apply
  with field manager ``bulkhead``, get, list by label, delete;
- :mod:`.cluster` — diff (server-side dry-run vs live), apply in kind order, prune by the
  inventory labels; :mod:`.rollout` — waiting for rollouts, naming a failing pod and why;
- :mod:`.engine` — the Docker adapter (docker SDK) at a docker environment's ``host``;
- :mod:`.compose` — compose services → container configurations and their hash;
  :mod:`.deploy` — recreate only what changed, remove only bulkhead's containers, wait for
  health;
- :mod:`.objects` — references, kind order, the inventory, diffs (pure);
- :mod:`.secrets` — which secret values go where (Secrets per namespace, 0400 files on the
  GPU machine), read from their sources at apply time, scrubbed from every message;
- :mod:`.homelab` — what the ``apply``, ``diff`` and ``doctor`` verbs share.

Secrets join at two seams: Secret objects join the rendered objects (kind order puts them
before workloads, and diffs show ``<changed>``, never a value), and
:class:`~.deploy.DeployOptions` carries the GPU machine's env file variables and the secret
files an apply rewrote (the containers that mount one are recreated).
"""

from bulkhead.apply.cluster import Action, Change, ClusterPlan, apply_cluster, plan_cluster
from bulkhead.apply.deploy import DeployOptions, DockerPlan, Step, StepKind, deploy_docker
from bulkhead.apply.objects import HOMELAB, MANAGED_BY, ObjectRef, inventory_labels

__all__ = [
    "HOMELAB",
    "MANAGED_BY",
    "Action",
    "Change",
    "ClusterPlan",
    "DeployOptions",
    "DockerPlan",
    "ObjectRef",
    "Step",
    "StepKind",
    "apply_cluster",
    "deploy_docker",
    "inventory_labels",
    "plan_cluster",
]
