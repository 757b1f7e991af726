#!/usr/bin/env bash
# bench/build: a multi-stage Dockerfile on debian:bookworm (RUN steps that create many files, a
# COPY of a 2,000-file context, a final stage copying from the first), built cold (--no-cache)
# and fully cached, by berth, `podman build --layers` and docker's builder, in one hyperfine
# run each. All RUN steps use --network none.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
ensure_peers
RUNS=${RUNS:-5}
W=$(mktemp -d /var/tmp/berth-bench-build.XXXX)
ROOT=$W/root
RUNROOT=/run/berth-bench-build-$$
BERTH="node $REPO/dist/berth.mjs --root $ROOT --runroot $RUNROOT"
CTX=$W/ctx
cleanup() {
  rm -rf "$W" "$RUNROOT"
  podman rmi -f localhost/bench-build:berth >/dev/null 2>&1 || true
  $DOCKER rmi -f bench-build:docker >/dev/null 2>&1 || true
}
trap cleanup EXIT

mkdir -p "$CTX/files"
for d in $(seq 1 20); do
  mkdir -p "$CTX/files/d$d"
  for f in $(seq 1 100); do echo "file $d/$f" > "$CTX/files/d$d/f$f.txt"; done
done
cat > "$CTX/Dockerfile" <<'DF'
ARG BASE
FROM ${BASE} AS build
RUN mkdir -p /gen && cd /gen && for i in $(seq 1 3000); do echo "$i" > "f$i"; done
RUN cp -a /usr/share/doc /gen/doc && cp -a /usr/share/zoneinfo /gen/zoneinfo
COPY files/ /ctx/
RUN find /ctx /gen -type f | wc -l > /count

FROM ${BASE}
COPY --from=build /gen /gen
COPY --from=build /count /count
CMD ["cat", "/count"]
DF

$BERTH pull -q "$REG/debian:bookworm" >/dev/null
$DOCKER pull -q "$REG/debian:bookworm" >/dev/null 2>&1 || true
docker_ok=0
timeout 10 $DOCKER info >/dev/null 2>&1 && $DOCKER image inspect "$REG/debian:bookworm" >/dev/null 2>&1 && docker_ok=1

berth_cmd() { echo "$BERTH build -q --network none --build-arg BASE=$REG/debian:bookworm $1 -t bench-build:berth $CTX"; }
podman_cmd() { echo "podman build -q --layers --network none --build-arg BASE=localhost/debian:bookworm $1 -t localhost/bench-build:berth $CTX"; }
docker_cmd() { echo "$DOCKER build -q --network none --build-arg BASE=$REG/debian:bookworm $1 -t bench-build:docker $CTX"; }

# the result is the same in all three: 5000+ files counted
[ "$($BERTH run --rm --network none "$(eval "$(berth_cmd --no-cache)" | tail -1)" cat /count)" -gt 5000 ]

# cold: each run starts from the base image alone. The prepare step removes the previous result
# and the tool's build cache (podman: its dangling intermediate images), then lets the disk
# settle: this VM's ext4 has online discard, and file creation crawls for a while after mass
# deletes, which would otherwise bill one tool's cleanup to the next tool's build.
SETTLE=${SETTLE:-15}
prep_berth="sh -c '$BERTH rmi -f bench-build:berth >/dev/null 2>&1; $BERTH builder prune -f >/dev/null; sync; sleep $SETTLE'"
prep_podman="sh -c 'podman rmi -f localhost/bench-build:berth >/dev/null 2>&1; podman image prune -f >/dev/null; sync; sleep $SETTLE'"
prep_docker="sh -c '$DOCKER rmi -f bench-build:docker >/dev/null 2>&1; $DOCKER builder prune -af >/dev/null 2>&1; $DOCKER image prune -f >/dev/null; sync; sleep $SETTLE'"
out="$RESULTS/build-cold.json"
args=(--prepare "$prep_berth" -n "berth" "$(berth_cmd --no-cache)"
  --prepare "$prep_podman" -n "podman --layers" "$(podman_cmd --no-cache)")
[ $docker_ok = 1 ] && args+=(--prepare "$prep_docker" -n "docker" "$(docker_cmd --no-cache)")
hyperfine -N --runs "$RUNS" --export-json "$out" "${args[@]}"
echo
echo "### build, cold ($(date -u +%F), $(nproc) cores)"
summarise "$out" "podman --layers" | tee "$RESULTS/build-cold.md"

# cached: the same build again with every step in the cache
for tool in berth podman docker; do
  case $tool in
    berth) eval "$(berth_cmd "")" >/dev/null ;;
    podman) eval "$(podman_cmd "")" >/dev/null ;;
    docker) [ $docker_ok = 1 ] && eval "$(docker_cmd "")" >/dev/null ;;
  esac
done
out="$RESULTS/build-cached.json"
args=(-n "berth" "$(berth_cmd "")" -n "podman --layers" "$(podman_cmd "")")
[ $docker_ok = 1 ] && args+=(-n "docker" "$(docker_cmd "")")
hyperfine -N --runs "$((RUNS * 2))" --warmup 1 --export-json "$out" "${args[@]}"
echo
echo "### build, fully cached ($(date -u +%F), $(nproc) cores)"
summarise "$out" "podman --layers" | tee "$RESULTS/build-cached.md"
