#!/usr/bin/env bash
# The container image (Dockerfile), built and run for real with podman: the
# Dockerfile passes hadolint; the image builds from the debootstrap base
# (tools/make_base_image.sh), stays under a size budget, runs as a non-root
# numeric user with its ports and HEALTHCHECK declared, links no missing
# library; run with no arguments it serves the demo model through ports
# published on 127.0.0.1 (health, generate with the host's switchyard-cli,
# /metrics), drains on `podman stop` and exits 0; and it serves with a
# read-only root filesystem and no capabilities, as Kubernetes' restricted
# profile runs it.
#
# The first build on a machine takes ~10 min on 2 cores; later ones reuse
# the apt layers, and an unchanged tree reuses everything.
source "$(dirname "$0")/lib.sh"

IMAGE=${SWITCHYARD_IMAGE:-localhost/switchyard:test}
BASE_IMAGE=${SWITCHYARD_BASE_IMAGE:-localhost/switchyard-base:bookworm}
MAX_IMAGE_MB=250   # measured: 161 MB; the margin catches a -dev package or a build tree leaking in
PROMPT="The yard master walked the length of the platform"
CLI=$(need_binary switchyard-cli)
HADOLINT=$(venv_tool hadolint)
command -v podman >/dev/null || die "podman is missing: run tools/setup.sh --deploy"

# --- the Dockerfile, linted (ignored rules are justified in the file) ---
if "$HADOLINT" Dockerfile >"$SCRATCH/hadolint.txt" 2>&1; then
  pass "hadolint: Dockerfile has no findings"
else
  cat "$SCRATCH/hadolint.txt" >&2
  fail "hadolint: Dockerfile has findings"
fi

# --- the image, built ---
tools/make_base_image.sh "$BASE_IMAGE" >&2
started=$SECONDS
if ! podman build --format docker --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" . >"$SCRATCH/build.log" 2>&1; then
  tail -n 60 "$SCRATCH/build.log" >&2
  die "podman build failed"
fi
log "image built in $((SECONDS - started)) s"
pass "podman build --format docker"

size_mb=$(($(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000))
log "image size: $size_mb MB"
if ((size_mb <= MAX_IMAGE_MB)); then pass "image is $size_mb MB (<= $MAX_IMAGE_MB)"; else fail "image is $size_mb MB (> $MAX_IMAGE_MB)"; fi

# --- what the image declares ---
inspect() { podman image inspect --format "$1" "$IMAGE"; }
user=$(inspect '{{.Config.User}}')
if [[ $user =~ ^[1-9][0-9]*(:[0-9]+)?$ ]]; then pass "runs as numeric non-root user $user"; else fail "user is '$user', not a numeric non-root uid"; fi
ports=$(inspect '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}')
for p in 50051/tcp 9090/tcp; do
  if [[ " $ports " == *" $p "* ]]; then pass "exposes $p"; else fail "does not expose $p (exposes: $ports)"; fi
done
health=$(inspect '{{json .HealthCheck}}')
if [[ $health == *'"switchyard-cli","health"'* ]]; then pass "HEALTHCHECK runs switchyard-cli health"; else fail "HEALTHCHECK is $health"; fi
entrypoint=$(inspect '{{json .Config.Entrypoint}}')
if [[ $entrypoint == '["switchyard","serve","--host","0.0.0.0"]' ]]; then pass "ENTRYPOINT $entrypoint"; else fail "ENTRYPOINT is $entrypoint"; fi

# Every library the binaries need is in the runtime stage.
if ldd_out=$(podman run --rm --entrypoint ldd "$IMAGE" /usr/local/bin/switchyard /usr/local/bin/switchyard-cli 2>&1) &&
   ! grep -q 'not found' <<<"$ldd_out"; then
  pass "ldd: no missing library in the image"
else
  echo "$ldd_out" >&2
  fail "ldd: libraries missing in the image"
fi

# run_image NAME [PODMAN RUN FLAGS...]: the image with its own CMD (no
# arguments), ports published on loopback only; sets GRPC_ADDR, METRICS_PORT.
run_image() {
  local name=$1 grpc_port
  shift
  grpc_port=$(free_port)
  METRICS_PORT=$(free_port)
  GRPC_ADDR=127.0.0.1:$grpc_port
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  # podman's stderr only on failure: without systemd it logs that it cannot
  # schedule the HEALTHCHECK timer (`podman healthcheck run` works).
  podman run -d --name "$name" -p "127.0.0.1:$grpc_port:50051" -p "127.0.0.1:$METRICS_PORT:9090" \
    -e OMP_WAIT_POLICY=passive "$@" "$IMAGE" >/dev/null 2>"$SCRATCH/$name.podman.log" ||
    { cat "$SCRATCH/$name.podman.log" >&2; die "podman run $name failed"; }
  on_exit "podman rm -f -t 0 $name >/dev/null 2>&1"
  if ! wait_healthy "$GRPC_ADDR" 180; then
    podman logs "$name" >&2 || true
    die "$name did not become SERVING on $GRPC_ADDR"
  fi
}

# generate_greedy: 12 greedy tokens through the published port, by the host's CLI.
generate_greedy() {
  local json
  json=$("$CLI" generate --addr="$GRPC_ADDR" --timeout=60s --prompt="$PROMPT" --max-tokens=12 --temperature=0 --json) ||
    return 1
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["text"].strip(), "empty text"
assert r["finish_reason"] == "FINISH_REASON_LENGTH", r["finish_reason"]
assert r["usage"]["completion_tokens"] == 12, r["usage"]
' "$json"
}

# --- run with no arguments: the demo model, served ---
NAME=switchyard-image-check-$$
run_image "$NAME"
pass "container SERVING through 127.0.0.1 (health from the host)"
if podman logs "$NAME" 2>&1 | grep 'loading /usr/local/share/switchyard/demo-model' >/dev/null; then
  pass "serves the installed demo model"
else
  fail "the log does not name /usr/local/share/switchyard/demo-model"
fi
if podman healthcheck run "$NAME" >/dev/null 2>&1; then pass "podman healthcheck run: healthy"; else fail "the image's HEALTHCHECK fails"; fi
if [[ $(podman exec "$NAME" id -u) == "${user%%:*}" ]]; then pass "the server runs as uid ${user%%:*}"; else fail "the server does not run as ${user%%:*}"; fi

if generate_greedy; then pass "generate through the published port (12 greedy tokens, finish length)"; else fail "generate through the published port"; fi

metrics=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
  "http://127.0.0.1:$METRICS_PORT/metrics") || metrics=""
generated=$(awk '$1 == "switchyard_generated_tokens_total" {print int($2)}' <<<"$metrics")
if ((${generated:-0} >= 12)); then
  pass "/metrics through the published port: switchyard_generated_tokens_total = $generated"
else
  fail "/metrics: switchyard_generated_tokens_total is '${generated}' (want >= 12)"
fi

# podman stop sends the image's STOPSIGNAL (SIGTERM); -t: more than the
# drain timeout before it would kill.
podman stop -t 45 "$NAME" >/dev/null 2>&1
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
logs=$(podman logs "$NAME" 2>&1)
if [[ $exit_code == 0 ]]; then pass "exit code 0 after podman stop"; else fail "exit code $exit_code after podman stop"; fi
if grep -q 'SIGTERM: draining' <<<"$logs" && grep -q 'stopped' <<<"$logs"; then
  pass "the log says it drained and stopped"
else
  tail -n 20 <<<"$logs" >&2
  fail "the log does not say it drained and stopped"
fi

# --- read-only root filesystem, no capabilities, no tmpfs: Kubernetes' restricted profile ---
RO_NAME=switchyard-image-check-ro-$$
run_image "$RO_NAME" --read-only --read-only-tmpfs=false --cap-drop=ALL --security-opt=no-new-privileges
if generate_greedy; then pass "serves with a read-only root filesystem and no capabilities"; else fail "generate with a read-only root filesystem"; fi
podman stop -t 45 "$RO_NAME" >/dev/null 2>&1

finish
