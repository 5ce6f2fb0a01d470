"""An in-process fake Kubernetes API server for apply, diff and doctor tests.

No Kubernetes API server can run where bulkhead's suite runs, so this one implements the part
of the API that bulkhead uses, with the semantics that matter:

- server-side apply: create on apply, update, ``managedFields`` per manager, 409 conflicts with
  every conflicting field unless ``force=true``, removal of fields a manager stops applying;
- ``dryRun=All``, list by ``labelSelector``, create, merge-patch updates, delete (a namespace
  takes its contents with it);
- ``Status`` bodies for 400/404/409/422, server defaults (a Service's clusterIP, a Deployment's
  strategy...), ``generation`` and ``resourceVersion`` that change only on real changes.

Use it in-process through lightkube's transport seam::

    fake = FakeKube()
    client = lightkube.Client(config=fake_config(), transport=fake.transport,
                              field_manager="bulkhead")

or over a socket for CLI tests with :func:`serve` and :func:`write_kubeconfig`.
"""

from __future__ import annotations

from lightkube import KubeConfig
from lightkube.config.models import Cluster, User

from bulkhead.testing.fakekube._http import serve, write_kubeconfig
from bulkhead.testing.fakekube._server import Call, FakeKube

SERVER = "https://fake.kube:6443"


def fake_config(context: str = "fake") -> KubeConfig:
    """A kubeconfig naming the fake server, for ``lightkube.Client(config=...)``."""
    return KubeConfig.from_one(
        cluster=Cluster(server=SERVER), user=User(token="fake-token"), context_name=context
    )


__all__ = ["SERVER", "Call", "FakeKube", "fake_config", "serve", "write_kubeconfig"]
