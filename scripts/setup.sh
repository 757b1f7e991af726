#!/usr/bin/env bash
# Idempotent setup for berth on Debian 12 (root): Debian packages, npm dependencies, the
# bundled CLI, and `berth` on PATH. Each step is skipped when it is already done, so a second
# run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
export DEBIAN_FRONTEND=noninteractive
log() { printf '[setup] %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "[setup] must run as root (berth manages mounts and namespaces)" >&2; exit 1; }

# --- Debian packages: runtimes, monitor, CNI, test registry and peers, compression, tooling
PKGS=(runc crun conmon containernetworking-plugins golang-github-containernetworking-plugin-dnsname
      dnsmasq-base iptables busybox-static docker-registry skopeo podman
      iproute2 uidmap zstd xz-utils bzip2 apache2-utils openssl curl ca-certificates hyperfine debootstrap tar gzip
      tini gcc libc6-dev docker-compose tmux systemd)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "Debian packages present"
fi

# --- Node.js 20+
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || { echo "[setup] Node.js >= 20 is required (found ${node_major})" >&2; exit 1; }

# --- npm dependencies (better-sqlite3 builds from source when no prebuilt binary can be fetched)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
else
  log "node_modules up to date"
fi

# --- build (bundle + transpile) when any source is newer than the bundle
if [ ! -f dist/berth.mjs ] || [ -n "$(find src test bench scripts package.json -newer dist/berth.mjs -print -quit)" ]; then
  log "building"
  node scripts/build.mjs
else
  log "build up to date"
fi

# --- berth on PATH
if [ "$(readlink -f /usr/local/bin/berth 2>/dev/null)" != "$repo/bin/berth" ]; then
  ln -sfn "$repo/bin/berth" /usr/local/bin/berth
  log "linked /usr/local/bin/berth -> $repo/bin/berth"
fi

# --- podman (interop tests): container rlimits must not exceed this host's hard limits
hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" = unlimited ] && hard_nofile=1048576
pid_max=$(cat /proc/sys/kernel/pid_max)
hard_nproc=$(ulimit -Hu)
if [ "$hard_nproc" = unlimited ] || [ "$hard_nproc" -gt "$pid_max" ]; then hard_nproc=$pid_max; fi
conf=/etc/containers/containers.conf.d/40-berth-tests.conf
want=$(printf '# written by berth scripts/setup.sh\n[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n\n[engine]\nruntime = "runc"\n' \
  "$hard_nofile" "$hard_nofile" "$hard_nproc" "$hard_nproc")
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" >"$conf"
  log "wrote $conf"
fi
log "ready: $(berth --version)"
