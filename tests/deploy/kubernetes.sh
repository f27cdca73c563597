#!/usr/bin/env bash
# The Kubernetes manifests (deploy/kubernetes), checked offline, since no
# API server can run here: every overlay with every combination of
# components renders; each rendering passes kubernetes-validate --strict
# (the oldest and the newest Kubernetes it targets), the Prometheus Operator
# resources their CRD schemas, checkov (its skips justified in
# deploy/kubernetes/.checkov.yaml) and the project's own facts
# (check_k8s_manifests.py); yamllint passes on the sources. Then the server
# is started with the rendered arguments and the rendered probes are run
# against it: plaintext with the native gRPC probes' services, and with TLS,
# mutual TLS and API keys through the CLI probes.
source "$(dirname "$0")/lib.sh"

K8S=deploy/kubernetes
# Oldest supported (the preStop sleep action is on by default from 1.30) and
# the newest that kubernetes-validate knows.
KUBE_VERSIONS=(1.30.0 1.37.0)
OVERLAYS=(cpu gpu)
# Listed in the order kustomize must apply them (mtls patches tls's probes).
COMPONENTS=(model-pvc tls mtls api-keys autoscaling monitoring)

KUBECTL=$(venv_tool kubectl)
VALIDATE=$(venv_tool kubernetes-validate)
CHECKOV=$(venv_tool checkov)
YAMLLINT=$(venv_tool yamllint)
PY=$(venv_tool python)
HERE=tests/deploy

# --- sources --------------------------------------------------------------
if "$YAMLLINT" -c deploy/.yamllint --strict "$K8S"; then
  pass "yamllint $K8S"
else
  fail "yamllint $K8S"
fi

# --- render ---------------------------------------------------------------
# render NAME OVERLAY [COMPONENT...]: renders a kustomization of the overlay
# and the components into $RENDERED/NAME.yaml, as a user's own
# kustomization would list them (kustomize wants relative paths).
VARIANTS=$SCRATCH/variants
RENDERED=$SCRATCH/rendered
mkdir -p "$VARIANTS" "$RENDERED"
render() {
  local name=$1 overlay=$2 dir=$VARIANTS/$1 rel c
  shift 2
  mkdir -p "$dir"
  rel=$(realpath --relative-to="$dir" "$K8S")
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources: [$rel/overlays/$overlay]"
    echo "components:"
    if (($# == 0)); then echo "  []"; fi
    for c in "$@"; do
      if [[ $c == monitoring ]]; then echo "  - $rel/monitoring"; else echo "  - $rel/components/$c"; fi
    done
  } >"$dir/kustomization.yaml"
  "$KUBECTL" kustomize "$dir" >"$RENDERED/$name.yaml" 2>"$dir/stderr"
}

rendered=0 render_failed=0
for overlay in "${OVERLAYS[@]}"; do
  for ((mask = 0; mask < 1 << ${#COMPONENTS[@]}; mask++)); do
    chosen=()
    for i in "${!COMPONENTS[@]}"; do
      if ((mask & 1 << i)); then chosen+=("${COMPONENTS[i]}"); fi
    done
    # mtls adds to tls's probes; alone it is refused (checked below).
    if [[ " ${chosen[*]} " == *" mtls "* && " ${chosen[*]} " != *" tls "* ]]; then continue; fi
    name=$overlay
    for c in "${chosen[@]}"; do name+=+$c; done
    if render "$name" "$overlay" "${chosen[@]}"; then
      rendered=$((rendered + 1))
    else
      render_failed=$((render_failed + 1))
      fail "kubectl kustomize $name: $(cat "$VARIANTS/$name/stderr")"
      rm -f "$RENDERED/$name.yaml"
    fi
  done
done
# 2 overlays x (64 subsets - 16 with mtls but not tls)
if ((rendered == 96 && render_failed == 0)); then
  pass "kubectl kustomize rendered all $rendered variants"
else
  fail "kubectl kustomize rendered $rendered variants, $render_failed failed, 96 expected"
fi

if render mtls-alone cpu mtls; then
  fail "mtls without tls rendered: its probes would have no TLS"
else
  pass "mtls without tls is refused at render time"
fi
rm -f "$RENDERED/mtls-alone.yaml"

mapfile -t all_rendered < <(ls "$RENDERED"/*.yaml)
((${#all_rendered[@]} > 0)) || die "nothing rendered"

# --- schemas --------------------------------------------------------------
for version in "${KUBE_VERSIONS[@]}"; do
  log "kubernetes-validate --strict -k $version on ${#all_rendered[@]} variants"
  if "$VALIDATE" --strict --quiet -k "$version" "${all_rendered[@]}" >"$SCRATCH/validate.log" 2>&1; then
    pass "kubernetes-validate --strict -k $version"
  else
    grep -v "^WARN" "$SCRATCH/validate.log" | head -20 >&2
    fail "kubernetes-validate --strict -k $version"
  fi
  # It only warns about kinds it has no schema for: those must be the
  # Prometheus Operator's, which are checked next, and nothing else.
  if grep "^WARN" "$SCRATCH/validate.log" | grep -v "api version monitoring.coreos.com/v1 " >&2; then
    fail "kubernetes-validate -k $version skipped resources it has no schema for"
  else
    pass "kubernetes-validate -k $version knew every kind but the operator's"
  fi
done

mapfile -t with_monitoring < <(ls "$RENDERED"/*+monitoring*.yaml)
if "$PY" "$HERE/validate_prometheus_operator.py" "${with_monitoring[@]}" >"$SCRATCH/operator.log"; then
  pass "Prometheus Operator resources valid in ${#with_monitoring[@]} variants ($(grep -c '^valid' "$SCRATCH/operator.log") resources)"
else
  grep -A5 INVALID "$SCRATCH/operator.log" | head -30 >&2
  fail "Prometheus Operator resources against their CRD schemas"
fi

# --- policy ---------------------------------------------------------------
if "$CHECKOV" --config-file "$K8S/.checkov.yaml" -d "$RENDERED" >"$SCRATCH/checkov.log" 2>&1; then
  pass "checkov: $(grep -o 'Passed checks: [0-9]*, Failed checks: 0' "$SCRATCH/checkov.log")"
else
  tail -40 "$SCRATCH/checkov.log" >&2
  fail "checkov"
fi

if "$PY" "$HERE/check_k8s_manifests.py" --metrics-source server/service/metrics.cc \
  --adapter-values "$K8S/prometheus-adapter/values.yaml" "${all_rendered[@]}" >"$SCRATCH/facts.log"; then
  pass "Switchyard facts: $(tail -1 "$SCRATCH/facts.log")"
else
  cat "$SCRATCH/facts.log" >&2
  fail "Switchyard facts (shutdown timing, probes, selectors, autoscaler metrics)"
fi

# The adapter's queries are PromQL once the adapter fills in its templates.
# (The adapter replaces <<.Series>> with the series name, <<.LabelMatchers>>
# with the namespace and pods asked for, <<.GroupBy>> with "pod".)
"$PY" - "$K8S/prometheus-adapter/values.yaml" >"$SCRATCH/adapter-rules.yml" <<'PY'
import re, sys, yaml
rules = []
for i, rule in enumerate(yaml.safe_load(open(sys.argv[1]))["rules"]["custom"]):
    series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["seriesQuery"]).group(0)
    expr = (rule["metricsQuery"].replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", 'namespace="switchyard",pod=~"switchyard-.*"')
            .replace("<<.GroupBy>>", "pod"))
    rules.append({"record": f"adapter:rule{i}", "expr": expr})
print(yaml.safe_dump({"groups": [{"name": "adapter", "rules": rules}]}))
PY
if command -v promtool >/dev/null; then
  if promtool check rules "$SCRATCH/adapter-rules.yml" >&2; then
    pass "prometheus-adapter metricsQuery expressions parse (promtool)"
  else
    fail "prometheus-adapter metricsQuery expressions (promtool)"
  fi
else
  fail "promtool is missing (Debian package prometheus)"
fi

# --- the rendered server flags and probes against a real server ------------
# server_args RENDERED: the rendered args, less the listening address and
# ports (start_server binds loopback and free ports), with the files under
# /etc/switchyard moved to $ETC.
ETC=$SCRATCH/etc/switchyard
server_args() {
  "$PY" "$HERE/k8s_container.py" "$1" args | grep -Ev '^--(host|port|metrics-port)=' | sed "s|/etc/switchyard/|$ETC/|g"
}
# run_probe RENDERED KIND: runs the rendered probe against the server, as
# the kubelet would: a native gRPC probe as a health check of its service
# (the CLI speaks the same grpc.health.v1 Check), an exec probe as written
# but at the test's port and files.
run_probe() {
  local -a probe
  mapfile -t probe < <("$PY" "$HERE/k8s_container.py" "$1" probe "$2")
  if [[ ${probe[0]} == grpc ]]; then
    "$(need_binary switchyard-cli)" health --addr="$GRPC_ADDR" --service="${probe[1]}" --timeout=5s
  else
    probe=("${probe[@]:1}")
    probe=("${probe[@]/#--addr=*/--addr=$GRPC_ADDR}")
    probe=("${probe[@]//\/etc\/switchyard\//$ETC/}")
    probe[0]=$(need_binary switchyard-cli)
    "${probe[@]}"
  fi
}
stop_server() { kill -TERM "$SERVER_PID" && wait "$SERVER_PID"; }

plain=$RENDERED/cpu.yaml
mapfile -t args < <(server_args "$plain")
start_server "${args[@]}"
pass "the server starts with the cpu overlay's flags: ${args[*]}"
for kind in startupProbe readinessProbe livenessProbe; do
  if run_probe "$plain" "$kind" >&2; then pass "cpu $kind is SERVING"; else fail "cpu $kind against the server"; fi
done
stop_server && pass "the server drained and exited 0 on SIGTERM" || fail "the server's exit on SIGTERM"

# Certificates and keys in the layout the components document.
mkdir -p "$ETC"/{tls,client-ca,probe-client,api-keys}
make_ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$1.key" -out "$1.pem" -subj "/CN=$2" 2>/dev/null; }
make_cert() { # make_cert OUT_DIR CA NAME [SAN]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1/tls.key" \
    -out "$SCRATCH/req.csr" -subj "/CN=$3" 2>/dev/null
  printf '%s\n' "${4:-extendedKeyUsage=clientAuth}" >"$SCRATCH/req.ext"
  openssl x509 -req -in "$SCRATCH/req.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$RANDOM" -days 2 \
    -extfile "$SCRATCH/req.ext" -out "$1/tls.crt" 2>/dev/null
}
make_ca "$SCRATCH/server-ca" server-ca
make_ca "$SCRATCH/client-ca" client-ca
make_cert "$ETC/tls" "$SCRATCH/server-ca" switchyard "subjectAltName=DNS:localhost,DNS:switchyard.switchyard.svc"
cp "$SCRATCH/server-ca.pem" "$ETC/tls/ca.crt"
cp "$SCRATCH/client-ca.pem" "$ETC/client-ca/ca.crt"
make_cert "$ETC/probe-client" "$SCRATCH/client-ca" kubelet-probe
openssl rand -hex 32 >"$ETC/api-keys/keys.txt"

# start_server waits with a plaintext health check; this server speaks
# only mutual TLS, so it is started here and awaited with the rendered
# startup probe, as the kubelet would.
secured=$RENDERED/cpu+tls+mtls+api-keys.yaml
mapfile -t args < <(server_args "$secured")
GRPC_ADDR=127.0.0.1:$(free_port)
SERVER_LOG=$SCRATCH/secured-server.log
"$(need_binary switchyard)" serve --host=127.0.0.1 --port="${GRPC_ADDR#*:}" --metrics-port="$(free_port)" \
  "${args[@]}" 2>"$SERVER_LOG" &
SERVER_PID=$!
on_exit "kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null"
deadline=$((SECONDS + 120))
until run_probe "$secured" startupProbe >/dev/null 2>&1; do
  if ((SECONDS > deadline)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -20 "$SERVER_LOG" >&2
    die "the secured server's startup probe never passed"
  fi
  sleep 0.5
done
if grep -q "mutual TLS" "$SERVER_LOG" && grep -q "API keys required" "$SERVER_LOG"; then
  pass "the server starts with tls+mtls+api-keys: mutual TLS and API keys on"
else
  fail "the server with tls+mtls+api-keys: $(grep -i security "$SERVER_LOG")"
fi
for kind in startupProbe readinessProbe livenessProbe; do
  if run_probe "$secured" "$kind" >&2; then pass "tls+mtls $kind is SERVING"; else fail "tls+mtls $kind against the server"; fi
done
cli=$(need_binary switchyard-cli)
tls_client=(--addr="$GRPC_ADDR" --tls-ca-file="$ETC/tls/ca.crt" --tls-server-name=localhost --timeout=5s)
if "$cli" health "${tls_client[@]}" >/dev/null 2>&1; then
  fail "a client without a certificate got through: mutual TLS is off"
else
  pass "a client without a certificate is refused (mutual TLS on)"
fi
tls_client+=(--tls-cert-file="$ETC/probe-client/tls.crt" --tls-key-file="$ETC/probe-client/tls.key")
if "$cli" model-info "${tls_client[@]}" >/dev/null 2>"$SCRATCH/nokey.log"; then
  fail "an API call without a key got through: API keys are off"
elif grep -q UNAUTHENTICATED "$SCRATCH/nokey.log"; then
  pass "an API call without a key gets UNAUTHENTICATED"
else
  fail "an API call without a key: $(cat "$SCRATCH/nokey.log")"
fi
if "$cli" model-info "${tls_client[@]}" --api-key-file="$ETC/api-keys/keys.txt" >/dev/null; then
  pass "an API call with the key from the Secret's file succeeds"
else
  fail "an API call with the key"
fi
stop_server && pass "the secured server drained and exited 0" || fail "the secured server's exit on SIGTERM"

finish
