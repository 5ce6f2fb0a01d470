"""The off-cluster api inside the cluster: a selector-less Service plus its EndpointSlice.

Each namespace whose workloads use an api that a docker environment serves gets its own
Service named after the api and an EndpointSlice at the GPU machine's address and the api's
port, so ``http://embeddings.<ns>.svc:<port>`` resolves from that namespace and nowhere else.
Per consuming namespace, not one shared copy: a Service in another namespace would need a
cross-namespace name in the client's config, and the copy stays next to the workloads and
policies that justify it. The Service port equals the api's port, so the address a pod dials
and the port its egress policy allows are the same number after kube-proxy's DNAT.

The EndpointSlice is labelled ``endpointslice.kubernetes.io/managed-by: bulkhead.dev``: the
EndpointSlice controller only manages slices labelled with its own name, so it leaves this one
alone, and ``kubernetes.io/service-name`` ties it to the Service.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bulkhead.render.kubernetes.network import off_cluster_apis
from bulkhead.render.view import View

Obj = dict[str, Any]


def api_objects(view: View, env: str, namespace: str, names: list[str]) -> list[Obj]:
    """Service and EndpointSlice for each off-cluster api used from ``namespace``."""
    apis: dict[str, tuple[str, int]] = {}
    for name in names:
        apis |= off_cluster_apis(view, env, name)
    objects: list[Obj] = []
    for api in sorted(apis):
        address, port = apis[api]
        port_name = view.spec.apis[api].port
        objects += [
            api_service(view, namespace, api, port_name, port),
            api_endpoints(view, namespace, api, port_name, (address, port)),
        ]
    return objects


def _meta(view: View, namespace: str, api: str) -> Obj:
    labels = {"app.kubernetes.io/name": api, "app.kubernetes.io/component": "external-api"}
    return {"name": api, "namespace": namespace, "labels": labels | view.common_labels()}


def api_service(view: View, namespace: str, api: str, port_name: str, port: int) -> Obj:
    """A ClusterIP Service without selector: its endpoints come from the slice below."""
    ports = [{"name": port_name, "port": port, "targetPort": port, "protocol": "TCP"}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(view, namespace, api),
        "spec": {"type": "ClusterIP", "ports": ports},
    }


def api_endpoints(
    view: View, namespace: str, api: str, port_name: str, target: tuple[str, int]
) -> Obj:
    """An EndpointSlice at the docker environment's address."""
    address, port = target
    metadata = _meta(view, namespace, api)
    metadata["labels"] |= {
        "kubernetes.io/service-name": api,
        "endpointslice.kubernetes.io/managed-by": "bulkhead.dev",
    }
    family = "IPv4" if ipaddress.ip_address(address).version == 4 else "IPv6"
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": metadata,
        "addressType": family,
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
    }
