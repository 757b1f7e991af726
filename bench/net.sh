#!/usr/bin/env bash
# bench/net: container networking, berth against podman and docker with the same busybox image,
# in one run (traffic on loopback only):
#  1. `run --rm IMG true` on each engine's default bridge network and with `--network none`
#     (hyperfine), and what the bridge adds over none;
#  2. TCP throughput through a port published on 127.0.0.1: a host client sends MIB MiB to a sink
#     in the container (`nc -ll -e dd`), TRANSFERS times per engine;
#  3. connection rate: CONNS short HTTP/1.0 connections (connect, GET, read, close) to busybox
#     httpd in the container through a port published on 127.0.0.1, CONCURRENCY in flight.
# Throughput and connection rounds alternate between the engines (bench/net-client.mjs).
#   ENGINES="berth podman docker"  which engines (e.g. ENGINES="podman docker" without berth)
#   BERTH=/path/to/bin/berth       the berth to measure (default: this checkout's dist/berth.mjs)
#   BERTH_ROOT=DIR                 use that storage root (default: a fresh one, removed after)
#   RUNS=20 MIB=1024 TRANSFERS=5 CONNS=2000 CONCURRENCY=8 CONN_ROUNDS=5
#   QUIET_BUSY=20 QUIET_WAIT=300   wait up to QUIET_WAIT s for other work to use < QUIET_BUSY % CPU
#   OUT=net                        results' base name in bench/results
# Writes bench/results/$OUT.md (and $OUT-run.json, $OUT-throughput.json, $OUT-connrate.json).
set -euo pipefail
ENGINES=${ENGINES:-berth podman docker}
has() { [[ " $ENGINES " == *" $1 "* ]]; }
for e in $ENGINES; do
  case $e in berth | podman | docker) ;; *) echo "unknown engine '$e' in ENGINES" >&2 && exit 2 ;; esac
done
if ! has berth || [ -n "${BERTH:-}" ]; then export BENCH_NO_DIST=1; fi
source "$(dirname "$0")/_lib.sh"
ensure_peers
RUNS=${RUNS:-20}
MIB=${MIB:-1024}
TRANSFERS=${TRANSFERS:-5}
CONNS=${CONNS:-2000}
CONCURRENCY=${CONCURRENCY:-8}
CONN_ROUNDS=${CONN_ROUNDS:-5}
OUT=${OUT:-net}
CLIENT="node $BENCH_DIR/net-client.mjs"
W=$(mktemp -d /var/tmp/berth-bench-net.XXXX)
NAME=bench-net-$$
MD=$W/net.md

declare -A ENG IMG SINK HTTP
ENG[podman]=podman
IMG[podman]=localhost/bb
ENG[docker]=$DOCKER
IMG[docker]=bb
IMG[berth]=$REG/bb:latest
BERTH_BIN=${BERTH:-node $REPO/dist/berth.mjs}
if [ -n "${BERTH_ROOT:-}" ]; then
  ENG[berth]="$BERTH_BIN --root $BERTH_ROOT"
else
  RUNROOT=/run/berth-bench-net-$$
  ENG[berth]="$BERTH_BIN --root $W/root --runroot $RUNROOT"
fi

cleanup() {
  local e ids
  for e in $ENGINES; do
    timeout 60 ${ENG[$e]} rm -f "$NAME-$e" >/dev/null 2>&1 || true
  done
  if has berth && [ -z "${BERTH_ROOT:-}" ]; then
    ids=$(timeout 30 ${ENG[berth]} ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || timeout 60 ${ENG[berth]} rm -f $ids >/dev/null 2>&1 || true
    rm -rf "$RUNROOT"
  fi
  # A container berth failed to remove may still have its rootfs mounted under $W: leave it.
  if findmnt -rn -o TARGET | grep -q "^$W/"; then
    echo "[bench] mounts left under $W, not deleting it" >&2
  else
    rm -rf "$W"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "[bench] failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# This VM has 2 cores shared with builds and tests: before each part, wait (bounded) until the
# others leave the CPUs mostly idle. The load average would also count this benchmark's own
# previous part, so this samples /proc/stat over 3 s while the benchmark is paused.
busy_percent() {
  local a b
  a=$(awk '/^cpu / { print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)
  sleep 3
  b=$(awk '/^cpu / { print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)
  echo "$a $b" | awk '{ d = $4 - $2; print (d > 0 ? int(100 * ($3 - $1) / d) : 0) }'
}
wait_quiet() {
  local limit=${QUIET_BUSY:-20} deadline=$((SECONDS + ${QUIET_WAIT:-300})) busy
  while busy=$(busy_percent) && ((busy >= limit)); do
    if ((SECONDS >= deadline)); then
      echo "[bench] CPUs still ${busy}% busy with other work, going on" >&2
      note "- other work kept the CPUs ${busy}% busy when this part started"
      return 0
    fi
    sleep 7
  done
}

# A free TCP port on 127.0.0.1 below the ephemeral range, not handed out before in this run.
USED_PORTS=" "
pick_port() {
  local p _
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 10000))
    if [[ $USED_PORTS != *" $p "* ]] && [ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ]; then
      USED_PORTS+="$p "
      PORT=$p
      return 0
    fi
  done
  echo "[bench] no free port found" >&2
  return 1
}

note() { echo "$*" | tee -a "$MD"; }
load() { note "- load average after this part (this benchmark's own work included): $(cut -d' ' -f1-3 /proc/loadavg)"; }

berth_version() {
  local v dir
  v=$(timeout 30 ${ENG[berth]} --version 2>/dev/null | head -1 || echo '?')
  dir=$(dirname "$(readlink -f "${BERTH:-$REPO/bin/berth}")")/..
  echo "$v, commit $(git -C "$dir" rev-parse --short HEAD 2>/dev/null || echo '?')"
}

if has berth; then timeout 120 ${ENG[berth]} pull -q "${IMG[berth]}" >/dev/null; fi

{
  echo "### Container networking ($(date -u '+%F %H:%M UTC'), $(nproc) cores)"
  echo
  echo "\`${BERTH:+BERTH=$BERTH }ENGINES=\"$ENGINES\" RUNS=$RUNS MIB=$MIB TRANSFERS=$TRANSFERS CONNS=$CONNS CONCURRENCY=$CONCURRENCY CONN_ROUNDS=$CONN_ROUNDS bash bench/net.sh\`"
  echo
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB RAM, kernel $(uname -r)"
  if has berth; then echo "- berth: $(berth_version)"; fi
  if has podman; then
    echo "- podman: $(podman --version | awk '{print $3}'), network backend $(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)"
  fi
  if has docker; then echo "- docker: $($DOCKER version --format '{{.Server.Version}}' 2>/dev/null)"; fi
  echo "- runc: $(runc --version | head -1 | awk '{print $3}')"
  echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$MD"

# --------------------------------------------------------------- 1. run --rm, bridge and none
wait_quiet
cmds=()
for e in $ENGINES; do
  cmds+=(-n "$e (bridge)" "${ENG[$e]} run --rm ${IMG[$e]} true")
  cmds+=(-n "$e (none)" "${ENG[$e]} run --rm --network none ${IMG[$e]} true")
done
out=$RESULTS/$OUT-run.json
hyperfine -N --runs "$RUNS" --warmup 3 --export-json "$out" "${cmds[@]}"
note
note "#### \`run --rm IMG true\`: default bridge network and \`--network none\`"
note
summarise "$out" 'podman (bridge)' | tee -a "$MD"
note
$CLIENT bridge-cost "$out" | tee -a "$MD"
note
load

# ----------------------------------------------- 2 + 3. servers behind ports on 127.0.0.1
# The sink: every connection goes to `dd bs=1M iflag=fullblock`, which answers "N+0 records in"
# once the client half-closes, so the client knows all N MiB arrived. httpd serves a 3-byte file.
SERVER='mkdir -p /www && echo ok >/www/index.html && httpd -p 8080 -h /www && exec nc -ll -p 5001 -e sh -c "dd bs=1M iflag=fullblock of=/dev/null 2>&1"'
pairs_sink=()
pairs_http=()
listeners=()
for e in $ENGINES; do
  pick_port
  SINK[$e]=$PORT
  pick_port
  HTTP[$e]=$PORT
  timeout 120 ${ENG[$e]} run -d --name "$NAME-$e" \
    -p "127.0.0.1:${SINK[$e]}:5001" -p "127.0.0.1:${HTTP[$e]}:8080" "${IMG[$e]}" sh -c "$SERVER" >/dev/null
  $CLIENT ready "${SINK[$e]}" "${HTTP[$e]}" --timeout "${READY_TIMEOUT:-60}"
  pairs_sink+=("$e=${SINK[$e]}")
  pairs_http+=("$e=${HTTP[$e]}")
  # Who holds the host port (a userland proxy, or a process only reserving it), and whether a
  # kernel NAT rule names it.
  who=$(ss -Hltnp "( sport = :${SINK[$e]} )" | { grep -o 'users:(("[^"]*"' || true; } | cut -d'"' -f2 | sort -u | paste -sd, -)
  nat=$({ iptables-save -t nat 2>/dev/null; command -v nft >/dev/null && nft list ruleset 2>/dev/null; } |
    grep -cE -- "dport ${SINK[$e]}([^0-9]|$)" || true)
  listeners+=("| $e | ${who:-nothing} | $([ "$nat" -gt 0 ] && echo yes || echo no) |")
done

wait_quiet
note
note "#### TCP throughput through a port published on 127.0.0.1 ($MIB MiB per transfer, MB = 10⁶ bytes; higher is better)"
note
$CLIENT throughput --mib "$MIB" --rounds "$TRANSFERS" --out "$RESULTS/$OUT-throughput.json" "${pairs_sink[@]}" |
  tee -a "$MD"
note
load

wait_quiet
note
note "#### Connection rate through a port published on 127.0.0.1 ($CONNS HTTP/1.0 connections per round, $CONCURRENCY in flight; higher is better)"
note
$CLIENT connrate --conns "$CONNS" --concurrency "$CONCURRENCY" --rounds "$CONN_ROUNDS" \
  --out "$RESULTS/$OUT-connrate.json" "${pairs_http[@]}" | tee -a "$MD"
note
load

note
note "#### Host side of the published port"
note
note "| engine | process listening on 127.0.0.1:PORT | kernel NAT rule for PORT |"
note "|---|---|---|"
for l in "${listeners[@]}"; do note "$l"; done
note
note "A process on the host port is either a userland proxy that carries the traffic (docker-proxy)"
note "or one that only reserves the port while the kernel's NAT rule carries it (podman's conmon)."
note "docker's DNAT rule for 127.0.0.1 is not used by local clients (its OUTPUT rule skips"
note "127.0.0.0/8), so they go through docker-proxy; turning that off (\`--userland-proxy=false\`)"
note "needs a dockerd restart, which this benchmark does not do."
cp "$MD" "$RESULTS/$OUT.md"
echo "[bench] wrote $RESULTS/$OUT.md"
