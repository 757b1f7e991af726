#!/usr/bin/env bash
# bench/pull: time `berth pull` of bb:latest and debian:bookworm into an empty storage root,
# against podman pull (empty root), docker pull, skopeo copy to dir: (download only) and the
# `gzip -dc LAYER | tar -x` floor, all in one hyperfine run per image. Needs ../shared/peers.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
ensure_peers
RUNS=${RUNS:-7}
W=$(mktemp -d /var/tmp/berth-bench-pull.XXXX)
mkdir -p "$W/trash"
trap 'rm -rf "$W"' EXIT
# This VM's ext4 (mounted with online discard) gets several times slower at creating inodes for
# a few seconds after thousands of files were deleted. Deleting in --prepare would charge that
# to whichever command runs next, so the prepare steps only rename the previous run's output
# into a trash dir, and everything is deleted at the end. docker deletes inside dockerd, so its
# prepare waits out that window instead.
trash() { echo "mv $1 $W/trash/\$(date +%s%N) 2>/dev/null || true"; }
BERTH="node $REPO/dist/berth.mjs"
ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'

for img in bb:latest debian:bookworm; do
  name=${img%%:*}
  tag=${img#*:}
  # the biggest layer of the image, for the gzip|tar floor
  layer=$(curl -fsS -H "$ACCEPT" "http://$REG/v2/$name/manifests/$tag" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);console.log(m.layers.sort((a,b)=>b.size-a.size)[0].digest)})')
  curl -fsS -o "$W/layer.gz" "http://$REG/v2/$name/blobs/$layer"
  out="$RESULTS/pull-$name.json"
  hyperfine --runs "$RUNS" --warmup 1 --export-json "$out" \
    --prepare "$(trash "$W/berth")" \
    -n berth "$BERTH --root $W/berth pull -q $REG/$img" \
    --prepare "$(trash "$W/podman"); $(trash "$W/podman-run")" \
    -n podman "podman --root $W/podman --runroot $W/podman-run pull -q --tls-verify=false $REG/$img" \
    --prepare "$DOCKER rmi -f $REG/$img >/dev/null 2>&1; sleep 12" \
    -n docker "$DOCKER pull -q $REG/$img" \
    --prepare "$(trash "$W/skopeo")" \
    -n 'skopeo dir' "skopeo copy -q --src-tls-verify=false docker://$REG/$img dir:$W/skopeo" \
    --prepare "$(trash "$W/floor"); mkdir -p $W/floor" \
    -n 'gzip|tar floor' "gzip -dc $W/layer.gz | tar -x -C $W/floor"
  echo
  echo "### pull $img ($(date -u +%F), $(nproc) cores)"
  summarise "$out" podman 'gzip|tar floor' | tee "$RESULTS/pull-$name.md"
  rm -rf "$W/trash" && mkdir -p "$W/trash" && sleep 12
done
