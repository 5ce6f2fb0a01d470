"""The CI target: Gitea Actions workflows that validate on pull request and deploy on merge.

Files under ``<gitea env>/.gitea/workflows/``:

- ``check.yaml`` (pull request): install the bulkhead version that rendered the files, run
  ``bulkhead check --format sarif``, render again and fail if the committed render differs;
- ``deploy-<cluster>.yaml`` (push to main touching that cluster's render): ``nodes.sh``,
  ``bulkhead secrets apply`` when the cluster's workloads read declared secrets, a server-side
  apply of the kustomization, ``prune.sh`` (kubectl's own ``--prune`` skips
  server-side-applied objects), then wait for every rollout; on a runner on a cluster node,
  with the kubeconfig from the repository secret ``KUBECONFIG``;
- ``deploy-<docker env>.yaml``: ``bulkhead secrets apply`` (the 0400 files) when its workloads
  read declared secrets, ``docker compose pull`` and ``up -d --remove-orphans --wait``,
  then an HTTP check of each exposed api; on a runner on that machine, else over
  ``DOCKER_HOST`` from another runner;
- ``backup-<workload>-<volume>.yaml``: the schedule of a docker volume's backup service;
- ``job-<name>.yaml``: one per ci-job workload, on the runner labels it declares.

Only syntax Gitea 1.2x's runner honours: no ``concurrency``, ``permissions``,
``timeout-minutes``, ``continue-on-error`` or ``environment`` (Gitea ignores them silently, so
a declared ``timeoutMinutes`` is noted in the file's header instead; act_runner's
``runner.timeout`` bounds a job).

The secrets step reads each secret from its declared source on the runner: a ``file://`` or
``sops://`` file must be there, and an ``env://PREFIX`` key comes from the Gitea Actions secret
of the same name as the variable bulkhead reads (``PREFIX`` + the key upper-cased, ``.`` and
``-`` as ``_``), passed to that step only; a ``sops://`` source gets the age key from the
secret ``SOPS_AGE_KEY``. Nothing is mapped that the spec does not declare.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bulkhead import __version__
from bulkhead.render.compose import backed_up, backup_service_name
from bulkhead.render.view import View
from bulkhead.spec.models import Ci as CiJob
from bulkhead.spec.models import (
    CiStep,
    GiteaEnvironment,
    Runner,
    WorkloadClass,
    env_source_variable,
)

Obj = dict[str, Any]
IGNORED_KEYS = frozenset(
    {"concurrency", "permissions", "timeout-minutes", "continue-on-error", "environment"}
)
CHECKOUT: Obj = {"name": "checkout", "uses": "actions/checkout@v4"}
_JOB_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_GITEA_SECRET = re.compile(r"^(?!GITEA_|GITHUB_)[A-Z_][A-Z0-9_]*$")  # names Gitea accepts
CHECK_NOTES = ("Needs python3 with venv on the runner.",)
CLUSTER_NOTES = (
    "Needs kubectl on the runner and the repository secret KUBECONFIG: a kubeconfig allowed",
    "to label nodes, apply and prune in this cluster.",
)
DOCKER_NOTES = ("Needs Docker Compose v2.24 or later where it runs.",)


@dataclass(frozen=True)
class Workflow:
    """A workflow document and the lines its file header adds."""

    document: Obj
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Ci:
    """What the workflows of one gitea environment share: runners and repository paths."""

    view: View
    gitea: GiteaEnvironment
    fallback: Runner  # a runner on a cluster node if any, else the first runner with labels
    spec_path: str  # the spec, relative to the repository root
    out: str  # the render directory, relative to the repository root

    def runner_on(self, env: str) -> Runner | None:
        """The first runner with labels living on a node of ``env``."""
        found = self.view.spec.environments.get(env)
        nodes = set(getattr(found, "nodes", {}))
        return next((r for r in self.gitea.runners.values() if r.node in nodes and r.labels), None)

    def runs_on(self, env: str) -> str | list[str]:
        """``runs-on`` for a job about ``env``: a runner there, else the fallback."""
        return runs_on((self.runner_on(env) or self.fallback).labels)


def runs_on(labels: list[str]) -> str | list[str]:
    """``runs-on``: a single label as a string, several as a list (all must match)."""
    return labels[0] if len(labels) == 1 else list(labels)


def shell_defaults() -> Obj:
    """Run steps with bash (``-eo pipefail``), as GitHub does when the shell is named."""
    return {"run": {"shell": "bash"}}


def context(view: View, env: str, paths: tuple[str, str]) -> Ci | None:
    """The shared context of a gitea environment; None when no runner has a label."""
    gitea = view.gitea()[env]
    labelled = [r for r in gitea.runners.values() if r.labels]
    nodes = {n for k3s in view.k3s().values() for n in k3s.nodes}
    fallback = next((r for r in labelled if r.node in nodes), labelled[0] if labelled else None)
    return Ci(view, gitea, fallback, *paths) if fallback else None


def workflows(view: View, env: str, paths: tuple[str, str]) -> dict[str, Workflow]:
    """File name → workflow, for gitea environment ``env``; ``paths`` = (spec file, render dir)."""
    ci = context(view, env, paths)
    if ci is None:
        return {}
    result = {"check.yaml": Workflow(check_workflow(ci), CHECK_NOTES)}
    for cluster in view.k3s():
        notes = CLUSTER_NOTES + secrets_step(ci, cluster).notes
        result[f"deploy-{cluster}.yaml"] = Workflow(cluster_deploy(ci, cluster), notes)
    for machine in view.docker():
        notes = DOCKER_NOTES + secrets_step(ci, machine).notes
        result[f"deploy-{machine}.yaml"] = Workflow(docker_deploy(ci, machine), notes)
        backups = backup_workflows(ci, machine).items()
        result |= {name: Workflow(document, DOCKER_NOTES) for name, document in backups}
    for name, workload in view.in_environment(env).items():
        if workload.class_ is WorkloadClass.ci_job and workload.ci is not None:
            notes = tuple(job_notes(workload.ci))
            result[f"job-{name}.yaml"] = Workflow(job_workflow(name, workload.ci), notes)
    return result


def install_step() -> Obj:
    """Install the bulkhead version that rendered the files in a venv, on the job's PATH."""
    install = (
        'python3 -m venv "$RUNNER_TEMP/bulkhead"\n'
        f'"$RUNNER_TEMP/bulkhead/bin/pip" install --quiet "bulkhead-homelab=={__version__}"\n'
        'echo "$RUNNER_TEMP/bulkhead/bin" >> "$GITHUB_PATH"\n'
    )
    return {"name": "install bulkhead", "run": install}


def check_workflow(ci: Ci) -> Obj:
    """Pull request: check the spec, and fail when the committed render is stale."""
    stale = (
        'bulkhead render "$BULKHEAD_SPEC" -o "$BULKHEAD_OUT"\n'
        'if [ -n "$(git status --porcelain -- "$BULKHEAD_OUT")" ]; then\n'
        '  git status --short -- "$BULKHEAD_OUT"\n'
        '  git diff -- "$BULKHEAD_OUT"\n'
        '  echo "::error::$BULKHEAD_OUT is stale: run bulkhead render and commit the result"\n'
        "  exit 1\n"
        "fi\n"
    )
    steps = [
        CHECKOUT,
        install_step(),
        {"name": "check", "run": 'bulkhead check "$BULKHEAD_SPEC" --format sarif > bulkhead.sarif'},
        {"name": "findings", "if": "failure()", "run": 'bulkhead check "$BULKHEAD_SPEC"'},
        {"name": "render is up to date", "run": stale},
    ]
    return {
        "name": "bulkhead check",
        "on": {"pull_request": {}},
        "env": {"BULKHEAD_SPEC": ci.spec_path, "BULKHEAD_OUT": ci.out},
        "defaults": shell_defaults(),
        "jobs": {"check": {"runs-on": runs_on(ci.fallback.labels), "steps": steps}},
    }


def secrets_read(view: View, env: str) -> list[str]:
    """The declared secrets the workloads of ``env`` read (``secretEnv``, backup credentials)."""
    names: set[str | None] = set()
    for workload in view.in_environment(env).values():
        names |= {ref.partition(".")[0] for ref in workload.secret_env.values()}
        targets = [v.backup.to for v in workload.volumes.values() if v.backup]
        names |= {view.spec.backups.targets[t].secret for t in targets}
    return sorted(n for n in names if n is not None and n in view.spec.secrets)


def source_variables(view: View, names: Iterable[str]) -> list[str]:
    """The variables the secrets' sources read from bulkhead's environment: ``env://PREFIX``
    keys (as bulkhead.secrets looks them up), and ``SOPS_AGE_KEY`` for a ``sops://`` source."""
    found: set[str] = set()
    for name in names:
        declared = view.spec.secrets[name]
        prefix = declared.source.removeprefix("env://")
        if prefix != declared.source:
            found |= {env_source_variable(prefix, k) for k in declared.keys}
        elif declared.source.startswith("sops://"):
            found.add("SOPS_AGE_KEY")
    return sorted(found)


@dataclass(frozen=True)
class SecretsStep:
    """The steps that write an environment's secret material, the workflow env they need, and
    the header lines that say what must resolve on the runner."""

    steps: tuple[Obj, ...] = ()
    env: Obj = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def secrets_step(ci: Ci, env: str, options: str = "") -> SecretsStep:
    """``bulkhead secrets apply`` for ``env`` when its workloads read declared secrets."""
    names = secrets_read(ci.view, env)
    if not names:
        return SecretsStep()
    variables = source_variables(ci.view, names)
    mapped = [v for v in variables if _GITEA_SECRET.match(v)]
    run = f'bulkhead secrets apply "$BULKHEAD_SPEC" --env {env}{options}\n'
    step: Obj = {"name": "secrets", "run": run}
    if mapped:
        step = {"name": "secrets", "env": {v: f"${{{{ secrets.{v} }}}}" for v in mapped}} | step
    notes = secrets_notes(names, mapped, [v for v in variables if v not in mapped])
    return SecretsStep((install_step(), step), {"BULKHEAD_SPEC": ci.spec_path}, notes)


def secrets_notes(names: list[str], mapped: list[str], unmapped: list[str]) -> tuple[str, ...]:
    """Header lines: what the secrets step writes and where its values come from."""
    notes = [
        f"The secrets step (bulkhead secrets apply) writes: {', '.join(names)}.",
        "Each is read from its source on the runner: file:// and sops:// files must be there;",
        "env:// keys come from the Gitea Actions secrets of the same names, mapped into that",
        "step only. Needs python3 with venv.",
    ]
    if mapped:
        notes.append(f"Repository secrets to create: {', '.join(mapped)}.")
    if unmapped:
        notes.append(f"Not valid Gitea secret names, set on the runner: {', '.join(unmapped)}.")
    return tuple(notes)


def _deploy_triggers(path: str) -> Obj:
    return {"push": {"branches": ["main"], "paths": [f"{path}/**"]}, "workflow_dispatch": {}}


KUBECONFIG_STEP: Obj = {
    "name": "kubeconfig",
    "env": {"KUBECONFIG_DATA": "${{ secrets.KUBECONFIG }}"},
    "run": (
        "umask 077\n"
        'printf \'%s\\n\' "$KUBECONFIG_DATA" > "$RUNNER_TEMP/kubeconfig"\n'
        'echo "KUBECONFIG=$RUNNER_TEMP/kubeconfig" >> "$GITHUB_ENV"\n'
    ),
}


def cluster_deploy(ci: Ci, env: str) -> Obj:
    """Push to main: label nodes, server-side apply, prune what bulkhead no longer renders, wait."""
    folder = f"{ci.out}/{env}"
    apply = "kubectl apply --server-side --field-manager=bulkhead --force-conflicts"
    secrets = secrets_step(ci, env, ' --context "$(kubectl config current-context)"')
    steps = [
        CHECKOUT,
        KUBECONFIG_STEP,
        {"name": "label and taint nodes", "run": f'sh "{folder}/nodes.sh"\n'},
        *secrets.steps,
        {"name": "apply", "run": f'{apply} -k "{folder}"\n'},
        {"name": "prune", "run": f'sh "{folder}/prune.sh"\n'},
        {"name": "wait for rollouts", "run": rollouts(ci.view, env)},
    ]
    workflow: Obj = {"name": f"deploy {env}", "on": _deploy_triggers(folder)}
    workflow |= {"env": secrets.env} if secrets.env else {}
    return workflow | {
        "defaults": shell_defaults(),
        "jobs": {"deploy": {"runs-on": ci.runs_on(env), "steps": steps}},
    }


def rollouts(view: View, env: str) -> str:
    """``kubectl rollout status`` for every Deployment and StatefulSet of the cluster."""
    lines = []
    for name, workload in view.in_environment(env).items():
        if workload.class_ is WorkloadClass.ci_job:
            continue
        kind = "statefulset" if workload.class_ is WorkloadClass.database else "deployment"
        namespace = view.namespace_of(name)
        lines.append(f"kubectl -n {namespace} rollout status {kind}/{name} --timeout=10m")
    return "\n".join(lines) + "\n" if lines else "true\n"


def docker_deploy(ci: Ci, env: str) -> Obj:
    """Push to main: pull and start the compose project, wait for health, probe the apis."""
    compose = f'docker compose -f "{ci.out}/{env}/compose.yaml"'
    secrets = secrets_step(ci, env)
    steps = [
        CHECKOUT,
        {"name": "pull", "run": f"{compose} pull\n"},
        *secrets.steps,  # after the pull: the file helper is made from an image already there
        {"name": "up", "run": f"{compose} up -d --remove-orphans --wait --wait-timeout 300\n"},
        {"name": "health", "run": api_checks(ci.view, env)},
    ]
    job: Obj = {"runs-on": ci.runs_on(env)}
    if ci.runner_on(env) is None:  # drive the machine's engine from another runner
        job["env"] = {"DOCKER_HOST": ci.view.docker()[env].host}
    workflow: Obj = {"name": f"deploy {env}", "on": _deploy_triggers(f"{ci.out}/{env}")}
    workflow |= {"env": secrets.env} if secrets.env else {}
    return workflow | {"defaults": shell_defaults(), "jobs": {"deploy": job | {"steps": steps}}}


def api_checks(view: View, env: str) -> str:
    """curl each api served from ``env`` on its health path, at the address the cluster uses."""
    lines = [
        f"curl -fsS --retry 5 --retry-all-errors -o /dev/null {url}"
        for api in view.spec.apis
        if (url := api_health_url(view, env, api))
    ]
    return "\n".join(lines) + "\n" if lines else "true\n"


def api_health_url(view: View, env: str, api: str) -> str | None:
    """``http://<address>:<port><health path>`` of an api served from ``env``, if it has one."""
    declared = view.spec.apis[api]
    provider = view.spec.workloads.get(declared.provider)
    address = view.api_address(api)
    if provider is None or address is None or view.environment_of(declared.provider) != env:
        return None
    if provider.health is None or provider.health.path is None:
        return None
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{provider.ports[declared.port]}{provider.health.path}"


def backup_workflows(ci: Ci, env: str) -> dict[str, Obj]:
    """A scheduled workflow per backed-up docker volume, on a runner on that machine."""
    runner = ci.runner_on(env)
    if runner is None:
        return {}
    files: dict[str, Obj] = {}
    compose = f'docker compose -f "{ci.out}/{env}/compose.yaml" --profile backup'
    for name, vol, backup in backed_up(ci.view, env):
        service = backup_service_name(name, vol)
        steps = [CHECKOUT, {"name": "backup", "run": f"{compose} run --rm {service}\n"}]
        files[f"{service}.yaml"] = {
            "name": f"backup {name}/{vol}",
            "on": {"schedule": [{"cron": backup.schedule}], "workflow_dispatch": {}},
            "defaults": shell_defaults(),
            "jobs": {"backup": {"runs-on": runs_on(runner.labels), "steps": steps}},
        }
    return files


def job_workflow(name: str, ci: CiJob) -> Obj:
    """A ci-job's workflow: its triggers, its runner labels, its steps."""
    triggers: Obj = {}
    for event in ci.on:
        triggers[event] = [{"cron": ci.schedule}] if event == "schedule" else {}
    job_id = name if _JOB_ID.match(name) else "job"
    job = {"name": name, "runs-on": runs_on(ci.runs_on), "steps": [step(s) for s in ci.steps]}
    return {"name": name, "on": triggers, "jobs": {job_id: job}}


def step(declared: CiStep) -> Obj:
    """One workflow step, keys in GitHub's usual order."""
    result: Obj = {}
    if declared.name:
        result["name"] = declared.name
    if declared.uses:
        result["uses"] = declared.uses
    if declared.with_:
        result["with"] = dict(declared.with_)
    if declared.run:
        result["run"] = declared.run
    return result


def job_notes(ci: CiJob) -> list[str]:
    """Header lines for what a ci-job declares but Gitea would ignore."""
    if ci.timeout_minutes is None:
        return []
    return [
        f"timeoutMinutes: {ci.timeout_minutes} is not written as timeout-minutes, which Gitea",
        "ignores; act_runner's runner.timeout (config.yaml) bounds the job instead.",
    ]
