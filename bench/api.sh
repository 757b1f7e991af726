#!/usr/bin/env bash
# bench/api: the Docker Engine API of `berth system service` against dockerd and podman, each
# part in one run on the same machine:
#  1. `docker run --rm IMG true` with the same docker CLI (DOCKER_CLI, the 28.x client) against
#     berth's socket and against dockerd's (both on their default bridge network);
#  2. create + start + wait + remove of one container from a resident client (dockerode,
#     bench/api-client.mjs, no CLI start-up) against `podman run --rm` with the same runtime
#     (runc, and crun when present), both with `--network none`;
#  3. `docker-compose up -d` and `down -v` of a two-service project (a user network, a named
#     volume, a published port) against berth and dockerd.
#   RUNS=20 COMPOSE_RUNS=8 DOCKER_CLI=/usr/local/bin/docker
#   BERTH_BASELINE=OLD/dist/berth.mjs  also serve an older build (own root and socket) and
#                                      measure it in the same runs, for before/after figures
# Writes bench/results/api-run.md, api-client-RUNTIME.md, api-compose.md (and their .json), api.md.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
ensure_peers
RUNS=${RUNS:-20}
COMPOSE_RUNS=${COMPOSE_RUNS:-8}
DOCKER_CLI=${DOCKER_CLI:-/usr/local/bin/docker}
W=$(mktemp -d /var/tmp/berth-bench-api.XXXX)
RUNROOT=/run/berth-bench-api-$$
SOCK=$W/api.sock
BERTH="node $REPO/dist/berth.mjs --root $W/root --runroot $RUNROOT"
IMG=$REG/bb:latest
MD=$W/api.md
SERVICE_PIDS=()
BASE=${BERTH_BASELINE:-}
BASE_SOCK=$W/base.sock
BASE_BERTH="node $BASE --root $W/base-root --runroot $RUNROOT-base"

cleanup() {
  local ids
  for p in "${SERVICE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$BASE" ]; then
    ids=$($BASE_BERTH ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || $BASE_BERTH rm -f $ids >/dev/null 2>&1 || true
    rm -rf "$RUNROOT-base"
  fi
  "$W/compose-berth" down -v >/dev/null 2>&1 || true
  "$W/compose-docker" down -v >/dev/null 2>&1 || true
  ids=$($BERTH ps -aq 2>/dev/null || true)
  [ -z "$ids" ] || $BERTH rm -f $ids >/dev/null 2>&1 || true
  rm -rf "$RUNROOT"
  if findmnt -rn -o TARGET | grep -q "^$W/"; then
    echo "[bench] mounts left under $W, not deleting it" >&2
  else
    rm -rf "$W"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { echo "$*" | tee -a "$MD"; }

# serve BERTH_COMMAND SOCKET: pull the image into that root and start a service on SOCKET
serve() {
  $1 pull -q "$IMG" >/dev/null
  $1 system service --socket "$2" 2>>"$W/service.log" &
  SERVICE_PIDS+=($!)
  for _ in $(seq 1 100); do
    [ "$(curl -s --unix-socket "$2" http://berth/_ping 2>/dev/null)" = OK ] && return 0
    sleep 0.1
  done
  cat "$W/service.log" >&2
  return 1
}
serve "$BERTH" "$SOCK"
[ -z "$BASE" ] || serve "$BASE_BERTH" "$BASE_SOCK"
"$DOCKER" image inspect bb >/dev/null

{
  echo "### Docker Engine API ($(date -u '+%F %H:%M UTC'), $(nproc) cores)"
  echo
  echo "\`RUNS=$RUNS COMPOSE_RUNS=$COMPOSE_RUNS bash bench/api.sh\`"
  echo
  echo "- berth $(git -C "$REPO" rev-parse --short HEAD), \`berth system service\` resident; docker CLI $("$DOCKER_CLI" version --format '{{.Client.Version}}' 2>/dev/null) for both engines"
  echo "- dockerd $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null), podman $(podman --version | awk '{print $3}'), runc $(runc --version | head -1 | awk '{print $3}')"
  [ -z "$BASE" ] || echo "- baseline: $BASE, own root and socket, measured in the same runs"
  echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$MD"

# Parts 1 and 2 alternate the contenders run by run (bench/api-client.mjs), so this shared VM's
# drift lands on all of them alike.
# ------------------------------------------------------------ 1. docker run --rm through the CLI
out=$RESULTS/api-run.json
cmds=(-n "docker CLI → berth" "$DOCKER_CLI -H unix://$SOCK run --rm $IMG true")
[ -z "$BASE" ] || cmds+=(-n "docker CLI → berth baseline" "$DOCKER_CLI -H unix://$BASE_SOCK run --rm $IMG true")
cmds+=(-n "docker CLI → dockerd" "$DOCKER_CLI -H unix:///var/run/docker.sock run --rm bb true")
node "$BENCH_DIR/api-client.mjs" --runs "$RUNS" --into "$out" "${cmds[@]}" | tee "$W/failed"
note
note "#### \`docker run --rm IMG true\`, the same docker CLI against each engine (target ≤ 0.6× dockerd)"
note
summarise "$out" "docker CLI → dockerd" | tee "$RESULTS/api-run.md" | tee -a "$MD"
tee -a "$RESULTS/api-run.md" "$MD" <"$W/failed"
note "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------- 2. a resident API client against podman run --rm
runtimes=(runc)
crun --version >/dev/null 2>&1 && runtimes+=(crun)
note
note "#### create + start + wait + remove from a resident dockerode client against \`podman run --rm\`, \`--network none\` (target ≤ 0.3× podman)"
for rt in "${runtimes[@]}"; do
  out=$RESULTS/api-client-$rt.json
  args=(--api "berth API, dockerode ($rt)=$SOCK,$rt")
  [ -z "$BASE" ] || args+=(--api "berth baseline API, dockerode ($rt)=$BASE_SOCK,$rt")
  args+=(-n "podman run --rm ($rt)" "podman --runtime $rt run --rm --network none localhost/bb true")
  node "$BENCH_DIR/api-client.mjs" --image "$IMG" --runs "$RUNS" --into "$out" "${args[@]}" | tee "$W/failed"
  note
  summarise "$out" "podman run --rm ($rt)" | tee "$RESULTS/api-client-$rt.md" | tee -a "$MD"
  tee -a "$RESULTS/api-client-$rt.md" "$MD" <"$W/failed"
done
note "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------- 3. docker-compose up -d and down
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
mkdir -p "$W/project"
cat >"$W/project/docker-compose.yml" <<'EOF'
version: "3.7"
services:
  web:
    image: ${IMG}
    command: ["httpd", "-f", "-p", "8080", "-h", "/data"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:${PORT}:8080"]
    volumes: ["data:/data"]
    networks: [back]
  app:
    image: ${IMG}
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    depends_on: [web]
    networks: [back]
networks:
  back: {}
volumes:
  data: {}
EOF
for e in berth docker; do
  if [ $e = berth ]; then host=unix://$SOCK img=$IMG; else host=unix:///var/run/docker.sock img=bb; fi
  cat >"$W/compose-$e" <<EOF
#!/bin/sh
export DOCKER_HOST=$host IMG=$img PORT=$(port) COMPOSE_PROJECT_NAME=benchapi$$
exec docker-compose -f $W/project/docker-compose.yml "\$@"
EOF
  chmod +x "$W/compose-$e"
done
out=$RESULTS/api-compose.json
compose_ok=1
if ! "$W/compose-berth" up -d >"$W/compose.log" 2>&1 || ! "$W/compose-berth" down -v >>"$W/compose.log" 2>&1; then
  compose_ok=0
  note
  note "- docker-compose against berth failed, so part 3 measured dockerd alone:"
  note "  \`$(tail -1 "$W/compose.log")\`"
fi
args=()
for e in berth docker; do
  [ $e = berth ] && [ $compose_ok = 0 ] && continue
  args+=(--prepare "$W/compose-$e down -v" -n "compose up -d → $e" "$W/compose-$e up -d"
    --prepare "$W/compose-$e up -d" -n "compose down -v → $e" "$W/compose-$e down -v")
done
hyperfine -N --runs "$COMPOSE_RUNS" --warmup 1 --export-json "$out" "${args[@]}"
note
note "#### \`docker-compose up -d\` and \`down -v\` of a two-service project (target ≤ 1.0× dockerd)"
note
summarise "$out" "compose up -d → docker" "compose down -v → docker" | tee "$RESULTS/api-compose.md" | tee -a "$MD"
note "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$MD" "$RESULTS/api.md"
echo "[bench] wrote $RESULTS/api.md"
