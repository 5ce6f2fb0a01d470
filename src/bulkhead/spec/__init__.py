"""The homelab spec (``bulkhead/v1alpha1``): loading with positions, models, references, schema.

Public surface: :func:`load_spec`, :func:`parse_spec`, :class:`Homelab` and the model classes,
:class:`Quantity`, :func:`json_schema`.
"""

from bulkhead.spec.load import load_spec, parse_spec
from bulkhead.spec.models import (
    API_VERSION,
    Api,
    Arch,
    DockerEnvironment,
    GiteaEnvironment,
    Homelab,
    K3sEnvironment,
    Severity,
    Tier,
    Workload,
    WorkloadClass,
    json_schema,
)
from bulkhead.spec.quantity import Quantity
from bulkhead.spec.references import CLUSTER_CLASSES, all_nodes, docker_address

__all__ = [
    "API_VERSION",
    "CLUSTER_CLASSES",
    "Api",
    "Arch",
    "DockerEnvironment",
    "GiteaEnvironment",
    "Homelab",
    "K3sEnvironment",
    "Quantity",
    "Severity",
    "Tier",
    "Workload",
    "WorkloadClass",
    "all_nodes",
    "docker_address",
    "json_schema",
    "load_spec",
    "parse_spec",
]
