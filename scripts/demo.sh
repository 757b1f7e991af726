#!/usr/bin/env bash
# Quick start, command 1: set everything up, then the main job: import a busybox root
# filesystem as a base image, build examples/hello/Dockerfile on it (multi-stage, a build
# secret, heredocs), run the result, rebuild it from the cache, and run more containers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for app in sh ls cat echo true id uname httpd wget nslookup; do ln -s busybox "$work/rootfs/bin/$app"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
chmod 1777 "$work/rootfs/tmp"
tar --numeric-owner --sort=name --mtime=@0 -C "$work/rootfs" -czf "$work/rootfs.tar.gz" .
set -x
SOURCE_DATE_EPOCH=$(stat -c %Y /bin/busybox) berth import --change 'CMD ["/bin/sh"]' --change 'ENV DEMO=1' -m 'busybox from the host' "$work/rootfs.tar.gz" demo/busybox:latest
berth images
berth history demo/busybox
berth image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} layers={{len .RootFS.Layers}} cmd={{json .Config.Cmd}}' demo/busybox
echo "demo-token-$RANDOM" > "$work/token"
berth build --secret id=demo_token,src="$work/token" -t demo/hello:latest examples/hello
berth run --rm demo/hello
# nothing changed: every step comes from the cache, and the image ID is the same
berth build -q --secret id=demo_token,src="$work/token" -t demo/hello:latest examples/hello
berth history demo/hello
berth run --rm demo/busybox sh -c 'echo "hello from a berth container: $(hostname), uid $(id -u), DEMO=$DEMO"'
berth run -d --name demo-ticker --restart on-failure:1 demo/busybox sh -c 'for i in 1 2 3; do echo tick $i; sleep 0.2; done'
berth wait demo-ticker
berth logs demo-ticker
berth ps -a
berth rm demo-ticker
# networking: a web server on a user network, published on a random port of 127.0.0.1, and a
# second container that finds it by name through the network's DNS
echo 'hello over the network' > "$work/index.html"
berth network rm demo-net 2>/dev/null || true
berth network create demo-net
berth run -d --name demo-web --network demo-net -p 127.0.0.1::80 -v "$work:/www:ro" demo/busybox httpd -f -p 80 -h /www
berth port demo-web
addr=$(berth port demo-web 80)
for _ in $(seq 50); do curl -fsS "http://$addr/index.html" && break; sleep 0.1; done
berth run --rm --network demo-net demo/busybox wget -qO- http://demo-web/index.html
berth rm -f demo-web
berth network rm demo-net
berth system df
