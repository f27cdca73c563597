#!/usr/bin/env bash
# `switchyard-cli expert-load --watch` against the real server (issue 12, "a
# picture for people at a terminal"). Under tmux (a private server, a
# 160x50 window): the heat map shows every layer of the demo model, its
# colours are those of the counts the server reports, it redraws while load
# arrives, and Ctrl-C ends it with exit 130 and the terminal as it was (main
# screen, cursor shown), which a SIGKILLed watch, the control, does not
# leave. Off a terminal (a file, or TERM=dumb): plain tables, no escape byte.
source "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || die "tmux is missing: run tools/setup.sh --deploy"
CLI=$(need_binary switchyard-cli)
CONFIG=tests/fixtures/mixtral/config.json  # the demo model that start_server serves
read -r LAYERS EXPERTS < <(python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))
print(c["num_hidden_layers"], c["num_local_experts"])' "$CONFIG")
log "demo model: $LAYERS layers of $EXPERTS experts"
# shellcheck disable=SC2119  # no flags: the demo model
start_server

# Generations one after another until stopped, so that the counts keep changing.
(
  while :; do
    "$CLI" generate --addr="$GRPC_ADDR" --prompt "The yard master walked the length of the platform" \
      --max-tokens 24 --ignore-eos >/dev/null 2>&1 || sleep 0.2
  done
) &
LOAD_PID=$!
on_exit "kill $LOAD_PID 2>/dev/null; wait $LOAD_PID 2>/dev/null"

TMUX_SOCKET=$SCRATCH/tmux.sock
tm() { tmux -S "$TMUX_SOCKET" -f /dev/null "$@"; }
on_exit "tmux -S $TMUX_SOCKET kill-server 2>/dev/null"
# pane_text SESSION [-e]: what the pane shows now (-e: with its colours).
pane_text() { tm capture-pane -p -t "$1" "${@:2}"; }
pane_format() { tm display-message -p -t "$1" "$2"; }
# wait_for SESSION REGEX [SECONDS]: until the pane shows a line matching REGEX.
# (Captured first: with pipefail, grep -q ending a pipe early could fail it.)
wait_for() {
  local deadline=$((SECONDS + ${3:-20})) text
  until text=$(pane_text "$1") && grep -Eq "$2" <<<"$text"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
# watch_in SESSION [ENV...]: the watch in a new tmux session, the shell kept
# after it (so that the pane's terminal modes can be read once it has ended).
watch_in() {
  local session=$1
  shift
  tm new-session -d -x 160 -y 50 -s "$session" \
    "env $* $CLI expert-load --watch --addr=$GRPC_ADDR --interval=200ms; echo watch-exit=\$?; sleep 600"
}
update_number() { pane_text "$1" | sed -nE 's/^update ([0-9]+) at .*/\1/p'; }
engine_steps() { pane_text "$1" | sed -nE 's/.* ([0-9]+) engine steps.*/\1/p'; }

# --- The live heat map, under load.
watch_in live
wait_for live '^update [0-9]+ at ' || { pane_text live >&2; die "no heat map drawn in 20 s"; }
wait_for live " [1-9][0-9]* engine steps" || die "the load never reached the heat map"
text=$(pane_text live)
if grep -q "expert load since start: $LAYERS layers, $EXPERTS experts" <<<"$text"; then
  pass "the title names the demo model's $LAYERS layers and $EXPERTS experts"
else
  fail "no title with $LAYERS layers and $EXPERTS experts in:"$'\n'"$text"
fi
axis="layer $(seq -s ' ' 0 $((EXPERTS - 1)))"
if grep -qF "$axis" <<<"$text"; then pass "the axis numbers every expert"; else fail "no axis '$axis'"; fi
missing=""
for ((layer = 0; layer < LAYERS; ++layer)); do
  # The layer, its cells (blank without colours), its max/mean and tokens.
  grep -Eq "^ *$layer {$((2 * EXPERTS + 1))} +[0-9]+\.[0-9]{2} +[0-9]+$" <<<"$text" || missing+=" $layer"
done
if [[ -z $missing ]]; then pass "a row for each of the $LAYERS layers"; else fail "no row for layers$missing"; fi
colored=$(pane_text live -e)
if grep -q $'\e\\[[0-9;]*48;5;' <<<"$colored"; then
  pass "the cells are drawn in 256 colours"
else
  fail "no 256-colour escape in the pane"
fi
if [[ $(pane_format live '#{alternate_on} #{cursor_flag}') == "1 0" ]]; then
  pass "the watch draws on the alternate screen with the cursor hidden"
else
  fail "alternate screen and cursor: $(pane_format live '#{alternate_on} #{cursor_flag}'), not 1 0"
fi

# Redraws: two looks 2 s apart at 200 ms updates (10 of them; 3 are enough
# on a busy machine), under load.
first_update=$(update_number live) first_steps=$(engine_steps live)
sleep 2
second_update=$(update_number live) second_steps=$(engine_steps live)
if ((second_update >= first_update + 3)); then
  pass "redrawn every update: update $first_update, then $second_update 2 s later"
else
  fail "not redrawn: update $first_update, then $second_update 2 s later"
fi
if ((second_steps > first_steps)); then
  pass "the redraws carry new counts: $first_steps engine steps, then $second_steps"
else
  fail "the counts did not change under load: $first_steps engine steps, then $second_steps"
fi

# The colours are those of the counts: load stopped, the pane is compared
# with the table that `expert-load` prints at the same engine step.
kill "$LOAD_PID"
wait "$LOAD_PID" 2>/dev/null || true
# Until the generation in flight is over: the same step count twice.
steps="" previous=""
for _ in {1..50}; do
  "$CLI" expert-load --addr="$GRPC_ADDR" --timeout=5s >"$SCRATCH/table.txt"
  steps=$(sed -nE 's/.*engine steps: ([0-9]+)$/\1/p' "$SCRATCH/table.txt")
  [[ $steps == "$previous" ]] && break
  previous=$steps
  sleep 0.3
done
wait_for live " $steps engine steps" 5 || fail "the heat map never showed engine step $steps"
pane_text live -e >"$SCRATCH/pane.txt"
if python3 - "$SCRATCH/table.txt" "$SCRATCH/pane.txt" "$EXPERTS" <<'EOF'; then
# An independent reading of the heat map: each expert's cell colour (two
# columns from column 6, the background of 256-colour SGRs) against its
# tokens over an even share, through the palette of tools/cli/heat_map.cc;
# each row's max/mean and tokens against the table.
import re, sys
table, pane, experts = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3])
bounds = [0.25, 0.5, 0.75, 0.9, 1.1, 1.5, 2, 3]
colors = [17, 19, 31, 37, 34, 184, 214, 196, 201]
def expected_color(count, total):
    if total == 0:
        return 236
    ratio = count * experts / total
    return colors[sum(ratio >= b for b in bounds)]
counts = {}
for line in table.splitlines():
    m = re.match(r"^ *(\d+) +(\d+) +([\d.]+)  0-\d+:((?: +\d+)+)$", line)
    if m:
        counts[int(m[1])] = ([int(c) for c in m[4].split()], int(m[2]), m[3])
def cells(line):
    """(text, background colour) of each column."""
    out, bg = [], None
    for esc, ch in re.findall(r"\x1b\[([0-9;]*)m|(.)", line):
        if ch:
            out.append((ch, bg))
            continue
        params = [int(p) if p else 0 for p in esc.split(";")]
        i = 0
        while i < len(params):
            p = params[i]
            if p in (38, 48) and i + 2 < len(params) and params[i + 1] == 5:
                if p == 48:
                    bg = params[i + 2]
                i += 3
                continue
            if p in (0, 49):
                bg = None
            i += 1
    return out
errors, seen = [], set()
for line in pane.splitlines():
    row = cells(line)
    text = "".join(c for c, _ in row)
    m = re.match(r"^ *(\d+) {%d} +([\d.]+) +(\d+) *$" % (2 * experts + 1), text)
    if not m or int(m[1]) not in counts:
        continue
    layer = int(m[1])
    seen.add(layer)
    per_expert, total, imbalance = counts[layer]
    if (m[2], int(m[3])) != (imbalance, total):
        errors.append(f"layer {layer}: max/mean {m[2]}, tokens {m[3]}; the table says {imbalance}, {total}")
    for e, count in enumerate(per_expert):
        got = [row[6 + 2 * e][1], row[7 + 2 * e][1]]
        want = expected_color(count, total)
        if got != [want, want]:
            errors.append(f"layer {layer} expert {e}: {count} of {total} tokens drawn in {got}, not {want}")
if not counts:
    errors.append("no layer rows in the table:\n" + table)
if seen != set(counts):
    errors.append(f"layers in the heat map {sorted(seen)}, in the table {sorted(counts)}")
print("\n".join(errors) or f"{len(seen)} layers x {experts} experts match the table", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
  pass "every cell's colour, max/mean and token count match the server's table"
else
  fail "the heat map does not match the server's table"
fi

# --- Ctrl-C: exit 130, the main screen back with the cursor shown.
tm send-keys -t live C-c
if wait_for live '^watch-exit=' 10; then
  status=$(pane_text live | sed -nE 's/^watch-exit=([0-9]+)$/\1/p')
  if [[ $status == 130 ]]; then pass "Ctrl-C ends the watch with exit 130"; else fail "Ctrl-C: exit $status, not 130"; fi
else
  fail "the watch did not end within 10 s of Ctrl-C"
fi
modes=$(pane_format live '#{alternate_on} #{cursor_flag}')
text=$(pane_text live)
if [[ $modes == "0 1" ]] && ! grep -q "expert load since start" <<<"$text"; then
  pass "after Ctrl-C the terminal is restored: main screen, cursor shown, no heat map left"
else
  fail "after Ctrl-C: alternate screen, cursor = $modes (want 0 1); pane:"$'\n'"$text"
fi
if grep -Eq '^switchyard-cli: stopped after [0-9]+ updates$' <<<"$text"; then
  pass "it says how many updates it drew"
else
  fail "no 'stopped after N updates' line"
fi

# The control: a watch killed outright leaves the terminal as it drew it,
# so the restored modes above are the watch's doing, not tmux's.
watch_in control
wait_for control '^update [0-9]+ at ' || die "no heat map in the control session"
cli_pid=$(pgrep -P "$(pane_format control '#{pane_pid}')" -x switchyard-cli)
kill -KILL "$cli_pid"
wait_for control '^watch-exit=137' 10 || die "the control's watch did not die"
if [[ $(pane_format control '#{alternate_on} #{cursor_flag}') == "1 0" ]]; then
  pass "control: a SIGKILLed watch leaves the alternate screen and hidden cursor, as the probe can tell"
else
  fail "control: the probe cannot tell an unrestored terminal: $(pane_format control '#{alternate_on} #{cursor_flag}')"
fi

# --- Not a terminal: plain tables, one per update, no escape byte.
rc=0
timeout -s INT --preserve-status 2 "$CLI" expert-load --watch --addr="$GRPC_ADDR" --interval=200ms \
  >"$SCRATCH/watch.txt" 2>"$SCRATCH/watch.err" || rc=$?
tables=$(grep -c "^layers: $LAYERS, experts: $EXPERTS," "$SCRATCH/watch.txt" || true)
rows=$(grep -cE '^ +[0-9]+ +[0-9]+ +[0-9]+\.[0-9]{2}  0-' "$SCRATCH/watch.txt" || true)
if [[ $rc == 130 ]] && ((tables >= 3 && rows == tables * LAYERS)); then
  pass "to a file: $tables tables of $LAYERS layers in 2 s, SIGINT exit 130"
else
  fail "to a file: exit $rc, $tables tables, $rows layer rows; stderr: $(cat "$SCRATCH/watch.err")"
fi
if ! grep -q $'\e' "$SCRATCH/watch.txt"; then pass "to a file: no escape byte"; else fail "escape bytes in the file"; fi
# A terminal that declares it draws no escapes (TERM=dumb) gets the same.
watch_in dumb TERM=dumb
wait_for dumb "^layers: $LAYERS, experts: $EXPERTS," || fail "TERM=dumb: no table"
colored=$(pane_text dumb -e)
if ! grep -q $'\e' <<<"$colored" && [[ $(pane_format dumb '#{alternate_on}') == 0 ]]; then
  pass "TERM=dumb: plain tables on the main screen"
else
  fail "TERM=dumb: escapes or the alternate screen"
fi

finish
