# Shared helpers for bench/*.sh: make sure the peers are set up, and summarise hyperfine JSON.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
PEERS=${PEERS_SETUP:-$REPO/../shared/peers/setup.sh}
REG=127.0.0.1:5000
DOCKER=/usr/bin/docker
RESULTS=$BENCH_DIR/results
mkdir -p "$RESULTS"

ensure_peers() {
  if ! curl -fsS --max-time 2 "http://$REG/v2/debian/manifests/bookworm" -H 'Accept: application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1 ||
     ! timeout 10 "$DOCKER" info >/dev/null 2>&1; then
    echo "[bench] setting up peers with $PEERS"
    bash "$PEERS"
  fi
  command -v hyperfine >/dev/null || apt-get install -y -q hyperfine
  # BENCH_NO_DIST=1: the caller does not run this checkout's build (net.sh with BERTH=… or no berth)
  [ -n "${BENCH_NO_DIST:-}" ] || [ -f "$REPO/dist/berth.mjs" ] || (cd "$REPO" && node scripts/build.mjs)
}

# summarise FILE.json BASELINE_NAME: prints a markdown table of median/mean/stddev and ratios vs BASELINE
summarise() {
  node "$BENCH_DIR/summarise.mjs" "$@"
}
