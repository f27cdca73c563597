#!/usr/bin/env bash
# The deployment checks' own set-up, called by `tools/setup.sh --deploy`
# once the Debian packages are in: the pinned Python tools of
# deploy/requirements.txt in a virtual environment (argument 1), and podman
# configured for this kind of sandbox. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:?usage: tools/setup_deploy.sh VENV_DIR}

# The venv is remade when the requirements change.
stamp="$VENV/.requirements.sha256"
want=$(sha256sum deploy/requirements.txt | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing deploy/requirements.txt into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r deploy/requirements.txt
  echo "$want" > "$stamp"
fi

# podman as root in a sandbox: crun and the default ulimits fail here, runc
# and cgroupfs work. Written only where no configuration exists yet.
conf=/etc/containers/containers.conf
if [[ ! -f "$conf" ]]; then
  echo "setup: writing $conf (runc, cgroupfs, explicit ulimits)"
  mkdir -p "$(dirname "$conf")"
  cat > "$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
fi
