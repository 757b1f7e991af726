#!/usr/bin/env bash
# bench/run: `berth run --rm --network none IMG true` against podman and docker with the same
# busybox image and the same runtime, and a raw `runc run` / `crun run` of a prepared bundle,
# in one hyperfine run. Also: `run -d` + `exec`-free latency of `start`, and the memory that
# stays resident per running container (conmon's RSS; berth itself exits).
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
ensure_peers
RUNS=${RUNS:-30}
W=$(mktemp -d /var/tmp/berth-bench-run.XXXX)
ROOT=$W/root
RUNROOT=/run/berth-bench-$$
BERTH="node $REPO/dist/berth.mjs --root $ROOT --runroot $RUNROOT"
BUNDLE=${PEERS_DIR:-/var/tmp/berth-peers}/bundle
cleanup() {
  ids=$($BERTH ps -aq 2>/dev/null || true)
  [ -z "$ids" ] || $BERTH rm -f $ids >/dev/null 2>&1 || true
  podman rm -f bench-d >/dev/null 2>&1 || true
  rm -rf "$W" "$RUNROOT"
}
trap cleanup EXIT
$BERTH pull -q "$REG/bb:latest" >/dev/null
runtimes=(runc)
crun --version >/dev/null 2>&1 && $BERTH run --rm --runtime crun --network none "$REG/bb:latest" true 2>/dev/null && runtimes+=(crun)
for rt in "${runtimes[@]}"; do
  out="$RESULTS/run-$rt.json"
  hyperfine -N --runs "$RUNS" --warmup 3 --export-json "$out" \
    -n "berth ($rt)" "$BERTH run --rm --runtime $rt --network none $REG/bb:latest true" \
    -n "podman ($rt)" "podman --runtime $rt run --rm --network none localhost/bb true" \
    -n "docker" "$DOCKER run --rm --network none bb true" \
    -n "raw $rt" "$rt run --bundle $BUNDLE bench-$$"
  echo
  echo "### run --rm true with $rt ($(date -u +%F), $(nproc) cores)"
  summarise "$out" "podman ($rt)" "raw $rt" | tee "$RESULTS/run-$rt.md"
done

# run -d latency, then the resident memory a running container costs (conmon; berth exits)
out="$RESULTS/run-detached.json"
hyperfine -N --runs "$((RUNS / 3 + 1))" --warmup 1 --export-json "$out" \
  --prepare "sh -c '$BERTH rm -f bench-d >/dev/null 2>&1; true'" \
  -n 'berth run -d' "$BERTH run -d --name bench-d --network none $REG/bb:latest sleep 60" \
  --prepare "sh -c 'podman rm -f bench-d >/dev/null 2>&1; true'" \
  -n 'podman run -d' "podman run -d --name bench-d --network none localhost/bb sleep 60"
echo
echo "### run -d ($(date -u +%F))"
summarise "$out" 'podman run -d' | tee "$RESULTS/run-detached.md"
for i in 1 2 3 4 5; do $BERTH run -d --name "mem$i" --network none "$REG/bb:latest" sleep 60 >/dev/null; done
rss=$(ps -eo rss,args | awk -v r="$RUNROOT" '$0 ~ /conmon/ && index($0, r) {s+=$1; n++} END {if (n) printf "%d kB over %d conmon processes, %.0f kB each", s, n, s/n}')
echo "resident per running berth container (conmon RSS): $rss" | tee "$RESULTS/run-memory.md"
