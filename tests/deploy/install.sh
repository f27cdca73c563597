#!/usr/bin/env bash
# The install layout that the container image is made of: `cmake --install`
# into a scratch prefix gives bin/switchyard, bin/switchyard-cli, the demo
# model in share/switchyard/demo-model and (where nvcc built it) the CUDA
# plugin in lib/switchyard/; the installed binary, run from another
# directory, finds the installed demo model before the source tree's and
# loads the installed plugin. Each finding is checked against its negative:
# without the installed copy, the binary falls back (so the first result was
# the installed copy's doing).
source "$(dirname "$0")/lib.sh"

need_binary switchyard >/dev/null
need_binary switchyard-cli >/dev/null
PREFIX=$SCRATCH/prefix
cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$SCRATCH/install.log" 2>&1 ||
  { cat "$SCRATCH/install.log" >&2; die "cmake --install failed"; }
DEMO=$PREFIX/share/switchyard/demo-model
SOURCE_DEMO=$PWD/tests/fixtures/mixtral

for f in bin/switchyard bin/switchyard-cli share/switchyard/demo-model/config.json \
         share/switchyard/demo-model/model.safetensors share/switchyard/demo-model/tokenizer.json; do
  if [[ -f $PREFIX/$f ]]; then pass "installed $f"; else fail "$f is not installed"; fi
done

# serve_installed: the installed server, run from a directory that is
# neither the source tree nor the prefix, up to SERVING, then stopped by
# SIGTERM; its log in $SERVE_LOG.
SERVE_LOG=$SCRATCH/serve.log
serve_installed() {
  local port pid
  port=$(free_port)
  (cd "$SCRATCH" && exec "$PREFIX/bin/switchyard" serve --backend=cpu --host=127.0.0.1 --port="$port" \
     --metrics-port=0 2>"$SERVE_LOG") &
  pid=$!
  if ! wait_healthy "127.0.0.1:$port" 120; then
    kill -KILL "$pid"
    cat "$SERVE_LOG" >&2
    die "the installed server did not start"
  fi
  kill -TERM "$pid"
  if wait "$pid"; then pass "the installed server exits 0 on SIGTERM"; else fail "the installed server exited non-zero"; fi
}

serve_installed
if grep -qF "loading $DEMO" "$SERVE_LOG"; then
  pass "the installed binary serves the installed demo model"
else
  fail "the installed binary does not load $DEMO"
fi
if json=$(cd "$SCRATCH" && "$PREFIX/bin/switchyard" generate --backend=cpu --prompt="The yard master" --max-tokens=2 --json) &&
   python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["text"] and len(r["token_ids"]) == 2' "$json"; then
  pass "the installed binary generates from another directory"
else
  fail "the installed binary's generate: ${json:-}"
fi
# The negative: without the installed copy it is the source tree's fixture.
mv "$DEMO" "$SCRATCH/demo-model.away"
serve_installed
if grep -qF "loading $SOURCE_DEMO" "$SERVE_LOG"; then
  pass "without the installed copy the build's source tree is the fallback"
else
  fail "without the installed copy the server does not fall back to $SOURCE_DEMO"
fi
mv "$SCRATCH/demo-model.away" "$DEMO"

# The CUDA plugin, where this build has it: found through the binary's
# RUNPATH ($ORIGIN/../lib/switchyard). Without a GPU the backend then fails
# at device discovery, past the dlopen.
if [[ -f $BUILD_DIR/libswitchyard_cuda.so ]]; then
  plugin=$PREFIX/lib/switchyard/libswitchyard_cuda.so
  if [[ -f $plugin ]]; then pass "installed lib/switchyard/libswitchyard_cuda.so"; else fail "the CUDA plugin is not installed"; fi
  cuda_error() { (cd "$SCRATCH" && "$PREFIX/bin/switchyard" generate --backend=cuda --prompt-ids=1,2 --max-tokens=1 2>&1 || true); }
  out=$(cuda_error)
  if [[ $out != *"cannot open shared object"* ]]; then
    pass "the installed binary loads the installed plugin (${out##*: })"
  else
    fail "the installed binary does not find its plugin: $out"
  fi
  mv "$plugin" "$SCRATCH/plugin.away"
  if [[ $(cuda_error) == *"libswitchyard_cuda.so: cannot open shared object"* ]]; then
    pass "without the installed plugin the dlopen fails (nothing else was found)"
  else
    fail "without the installed plugin the CUDA backend still loaded from somewhere else"
  fi
  mv "$SCRATCH/plugin.away" "$plugin"
fi

finish
