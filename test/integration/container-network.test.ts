// Containers on berth's bridge networks with real runc, conmon, CNI plugins, namespaces and
// sockets: the default network (addresses, route, container to container), published ports
// (loopback, the host's own address, the gateway from another container, random ports, -P,
// ranges, udp), port conflicts, and bad input that must change nothing. Traffic goes only to
// containers made here, on loopback, the host's own address or berth's subnets. Names, DNS,
// user networks and connect/disconnect are in container-network-names.test.ts.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../../src/network/index.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import {
  bodyOnceServing,
  compiledUdpEcho,
  containerIp,
  freePorts,
  hostAddress,
  httpGet,
  inSubnet,
  listenOn,
  networkSubnet,
  nthAddress,
  parseIpv4Addrs,
  udpRoundTrip,
  uniquePrefix,
} from '../helpers/net.js';
import { checksLessWithout, missing, skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacks = missing({ root: true, commands: ['runc', 'conmon', 'iptables', 'ip', 'gcc'] });
const skip = skipUnless(lacks ?? '', lacks === undefined);
const work = mkdtempSync(join(tmpdir(), 'berth-cn-it-'));
const b = new Berth();
const IMG = 'local/bb:net';
/** The same image with EXPOSE 80 (for -P without --expose). */
const IMG_EXPOSE = 'local/bb:net-expose';
const PAGE = 'served by berth\n';
const P = uniquePrefix();
const myNetworks: string[] = [];
const HTTPD = ['httpd', '-f', '-p', '80', '-h', '/www'];

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  mkdirSync(join(bundle.rootfs, 'www'), { recursive: true });
  writeFileSync(join(bundle.rootfs, 'www', 'index.html'), PAGE);
  writeFileSync(join(bundle.rootfs, 'www', 'other.html'), 'second port\n');
  copyFileSync(await compiledUdpEcho(), join(bundle.rootfs, 'bin', 'udpecho'));
  chmodSync(join(bundle.rootfs, 'bin', 'udpecho'), 0o755);
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG, ['CMD ["sh"]']);
  await b.ok([
    'import',
    '--change',
    'EXPOSE 80/tcp',
    '--change',
    'CMD ["sh"]',
    join(work, 'rootfs.tar'),
    IMG_EXPOSE,
  ]);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  for (const n of myNetworks) await b.run(['network', 'rm', '-f', n]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/**
 * `wget` from inside `from` until it answers (bounded by waitFor's deadline): the body. Busybox
 * 1.35's `wget -T` segfaults (on the host too), so `timeout` bounds each try instead.
 */
async function wgetFrom(from: string, url: string): Promise<string> {
  return waitFor(
    async () => {
      const r = await b.run(['exec', from, 'timeout', '5', 'wget', '-q', '-O', '-', url]);
      return r.code === 0 ? r.stdout : undefined;
    },
    { what: `${url} to answer from ${from}`, timeoutMs: 20_000 },
  );
}

/** A detached httpd container serving /www on port 80 (plus `extra` run flags). */
async function httpd(name: string, extra: string[] = [], command: string[] = HTTPD): Promise<void> {
  await b.ok(['run', '-d', '--name', name, ...extra, IMG, ...command]);
}

describe('the default network', { skip }, () => {
  test('an address in its subnet, a default route via its gateway, and containers reach each other by IP', async () => {
    await httpd('def-srv');
    await b.ok(['run', '-d', '--name', 'def-cli', IMG, 'sleep', '600']);
    const { subnet, gateway } = await networkSubnet(b, 'berth');
    const srvIp = await containerIp(b, 'def-srv', 'berth');
    const cliIp = await containerIp(b, 'def-cli', 'berth');
    assert.ok(inSubnet(srvIp, subnet), `${srvIp} in ${subnet}`);
    assert.ok(inSubnet(cliIp, subnet), `${cliIp} in ${subnet}`);
    assert.notEqual(srvIp, cliIp);
    // what the container itself sees agrees with inspect
    const addrs = parseIpv4Addrs(await b.ok(['exec', 'def-cli', 'ip', '-4', '-o', 'addr', 'show']));
    assert.equal(addrs.get('eth0')?.split('/')[0], cliIp);
    const routes = await b.ok(['exec', 'def-cli', 'ip', '-4', 'route', 'show']);
    assert.match(routes, new RegExp(`^default via ${gateway.replace(/\./g, '\\.')} dev eth0`, 'm'));
    assert.equal(await wgetFrom('def-cli', `http://${srvIp}:80/`), PAGE);
    // and a raw TCP stream with nc the other way round
    // busybox nc -l quits at EOF on its stdin, possibly before the client's bytes arrive: keep
    // its stdin open with a pipe that stays quiet
    await b.ok([
      'run',
      '-d',
      '--name',
      'def-nc',
      IMG,
      'sh',
      '-c',
      'sleep 600 | nc -l -p 7777 > /tmp/got; sleep 600',
    ]);
    const ncIp = await containerIp(b, 'def-nc', 'berth');
    await waitFor(
      async () =>
        (await b.run(['exec', 'def-cli', 'sh', '-c', `echo over-tcp | nc ${ncIp} 7777`])).code === 0,
      { what: 'nc to connect', timeoutMs: 20_000 },
    );
    await waitFor(async () => (await b.run(['exec', 'def-nc', 'cat', '/tmp/got'])).stdout === 'over-tcp\n', {
      what: 'the bytes to arrive',
    });
  });
});

describe('published ports', { skip }, () => {
  test('-p 127.0.0.1:H:80 serves the host through loopback', async () => {
    const h = await freePorts();
    await httpd('pub-lo', ['-p', `127.0.0.1:${h}:80`]);
    assert.equal(await bodyOnceServing('127.0.0.1', h), PAGE);
    assert.equal((await b.ok(['port', 'pub-lo', '80'])).trim(), `127.0.0.1:${h}`);
  });

  test('-p H:80 serves through the host address, loopback, and the gateway from another container', async (t) => {
    const h = await freePorts();
    await httpd('pub-all', ['-p', `${h}:80`]);
    assert.equal(await bodyOnceServing('127.0.0.1', h), PAGE);
    const addr = hostAddress();
    if (checksLessWithout(t, "a default route (the host's own address)", addr !== undefined))
      assert.equal(await bodyOnceServing(addr!, h), PAGE);
    const { gateway } = await networkSubnet(b, 'berth');
    await b.ok(['run', '-d', '--name', 'pub-peer', IMG, 'sleep', '600']);
    assert.equal(await wgetFrom('pub-peer', `http://${gateway}:${h}/`), PAGE);
    if (addr) assert.equal(await wgetFrom('pub-peer', `http://${addr}:${h}/`), PAGE);
  });

  test("a random host port (-p 80), -P with --expose and -P with the image's EXPOSE: `port`, inspect, and serving", async () => {
    await httpd('pub-rand', ['-p', '80']);
    await httpd('pub-all-exp', ['-P', '--expose', '80', '--expose', '9000-9001/udp']);
    await b.ok(['run', '-d', '--name', 'pub-img-exp', '-P', IMG_EXPOSE, ...HTTPD]);
    const seen = new Set<number>();
    for (const name of ['pub-rand', 'pub-all-exp', 'pub-img-exp']) {
      const line = (await b.ok(['port', name, '80/tcp'])).trim().split('\n')[0]!;
      const m = /^0\.0\.0\.0:(\d+)$/.exec(line);
      assert.ok(m, `${name}: ${line}`);
      const port = Number(m[1]);
      assert.ok(port > 0 && port < 65536);
      assert.ok(!seen.has(port), `${name} got host port ${port} twice`);
      seen.add(port);
      const [info] = JSON.parse(await b.ok(['inspect', name]));
      assert.deepEqual(info.NetworkSettings.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: String(port) }]);
      assert.equal(await bodyOnceServing('127.0.0.1', port), PAGE);
    }
    const [info] = JSON.parse(await b.ok(['inspect', 'pub-all-exp']));
    for (const k of ['9000/udp', '9001/udp']) {
      const bindings = info.NetworkSettings.Ports[k] as { HostPort: string }[];
      assert.equal(bindings?.length, 1, k);
      assert.match(bindings[0]!.HostPort, /^\d+$/);
    }
  });

  test('a range -p H1-H2:80-81 maps each port in order', async () => {
    const h = await freePorts(2);
    await httpd(
      'pub-range',
      ['-p', `127.0.0.1:${h}-${h + 1}:80-81`],
      ['sh', '-c', 'httpd -p 81 -h /www && exec httpd -f -p 80 -h /www'],
    );
    assert.equal(await bodyOnceServing('127.0.0.1', h), PAGE);
    assert.equal(await bodyOnceServing('127.0.0.1', h + 1, '/other.html'), 'second port\n');
    const lines = (await b.ok(['port', 'pub-range'])).trim().split('\n').sort();
    assert.deepEqual(lines, [`80/tcp -> 127.0.0.1:${h}`, `81/tcp -> 127.0.0.1:${h + 1}`]);
  });

  test('-p H:5000/udp carries datagrams from the host to the container and the replies back', async () => {
    const h = await freePorts();
    await b.ok(['run', '-d', '--name', 'pub-udp', '-p', `127.0.0.1:${h}:5000/udp`, IMG, 'udpecho', '5000']);
    assert.equal((await b.ok(['port', 'pub-udp', '5000/udp'])).trim(), `127.0.0.1:${h}`);
    // each try from a fresh socket, so a datagram sent before the rules were in place cannot
    // leave a conntrack entry that keeps later ones away from the container
    const reply = await waitFor(() => udpRoundTrip('127.0.0.1', h, 'datagram').catch(() => undefined), {
      what: 'a UDP reply through the published port',
      timeoutMs: 20_000,
    });
    assert.equal(reply, 'echo:datagram');
  });

  test('-p H:5000/udp on every address answers through loopback and the host address', async (t) => {
    const h = await freePorts();
    await b.ok(['run', '-d', '--name', 'pub-udp-all', '-p', `${h}:5000/udp`, IMG, 'udpecho', '5000']);
    const addrs = ['127.0.0.1'];
    const addr = hostAddress();
    if (checksLessWithout(t, "a default route (the host's own address)", addr !== undefined))
      addrs.push(addr!);
    for (const a of addrs) {
      const reply = await waitFor(() => udpRoundTrip(a, h, `to ${a}`).catch(() => undefined), {
        what: `a UDP reply through ${a}:${h}`,
        timeoutMs: 20_000,
      });
      assert.equal(reply, `echo:to ${a}`);
    }
  });

  test('a host port another container publishes: run fails with 125 naming it; the first keeps serving', async () => {
    const h = await freePorts();
    await httpd('conf-first', ['-p', `127.0.0.1:${h}:80`]);
    assert.equal(await bodyOnceServing('127.0.0.1', h), PAGE);
    for (const spec of [`127.0.0.1:${h}:80`, `${h}:80`]) {
      const r = await b.run(['run', '-d', '--name', 'conf-second', '-p', spec, IMG, ...HTTPD]);
      assert.equal(r.code, 125, `-p ${spec}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`\\b${h}\\b`), `-p ${spec}`);
      assert.match(r.stderr, /already|in use|allocated/i);
      await b.run(['rm', '-f', 'conf-second']);
    }
    assert.equal((await httpGet('127.0.0.1', h)).body, PAGE);
    assert.equal(await b.ok(['inspect', '--format', '{{.State.Status}}', 'conf-first']), 'running\n');
    // once the first is gone, its port is free again and now reaches the new container
    await b.ok(['rm', '-f', 'conf-first']);
    await b.ok([
      'run',
      '-d',
      '--name',
      'conf-after',
      '-p',
      `127.0.0.1:${h}:80`,
      IMG,
      'sh',
      '-c',
      'mkdir /w2 && echo new tenant > /w2/index.html && exec httpd -f -p 80 -h /w2',
    ]);
    const body = await waitFor(
      async () => {
        const r = await httpGet('127.0.0.1', h).catch(() => undefined);
        return r?.status === 200 && r.body !== PAGE ? r.body : undefined;
      },
      { what: 'the new container to answer on the freed port', timeoutMs: 20_000 },
    );
    assert.equal(body, 'new tenant\n');
  });

  test('a host port a host process listens on: run fails with 125 naming it', async () => {
    const h = await freePorts();
    const srv = await listenOn(h, '127.0.0.1');
    try {
      const r = await b.run(['run', '-d', '--name', 'conf-host', '-p', `127.0.0.1:${h}:80`, IMG, ...HTTPD]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, new RegExp(`\\b${h}\\b`));
      assert.match(r.stderr, /already|in use|allocated/i);
      assert.notEqual(
        await b.run(['inspect', '--format', '{{.State.Status}}', 'conf-host']).then((x) => x.stdout),
        'running\n',
      );
    } finally {
      await b.run(['rm', '-f', 'conf-host']);
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('macvlan and ipvlan networks', { skip }, () => {
  test('a container on each gets an address of its subnet on a macvlan/ipvlan eth0 over the parent', async (t) => {
    // the parent is one end of a veth pair this test makes (this kernel has no dummy driver):
    // no traffic leaves the host
    const parent = `bmv${P.slice(-6)}`.slice(0, 15);
    const add = await runCommand([
      'ip',
      'link',
      'add',
      parent,
      'type',
      'veth',
      'peer',
      'name',
      `${parent.slice(0, 13)}p`,
    ]);
    assert.equal(add.status, 0, add.stderr);
    t.after(() => runCommand(['ip', 'link', 'del', parent]));
    await runCommand(['ip', 'link', 'set', parent, 'up']);
    for (const [driver, subnet] of [
      ['macvlan', '10.231.251.0/24'],
      ['ipvlan', '10.231.252.0/24'],
    ] as const) {
      const net = `${P}-${driver}`;
      await b.ok(['network', 'create', '-d', driver, '-o', `parent=${parent}`, '--subnet', subnet, net]);
      myNetworks.push(net);
      // does this kernel have the driver? (this machine's has macvlan but not ipvlan)
      const probe = `${parent.slice(0, 12)}k`;
      const made = await runCommand(['ip', 'link', 'add', probe, 'link', parent, 'type', driver]);
      if (made.status === 0) await runCommand(['ip', 'link', 'del', probe]);
      else {
        // then the plugin's error is what run reports (not the runtime's "no such netns"), and
        // the failed attach leaves no container, namespace or lease behind
        const before = (await b.ok(['ps', '-aq'])).trim();
        const netnsBefore = readdirSync(join(b.runroot, 'netns')).sort();
        const r = await b.run(['run', '--rm', '--network', net, IMG, 'true']);
        assert.equal(r.code, 125, r.stderr);
        assert.match(r.stderr, new RegExp(`CNI plugin "${driver}" failed on ADD: .*not supported`));
        assert.equal((await b.ok(['ps', '-aq'])).trim(), before);
        assert.deepEqual(readdirSync(join(b.runroot, 'netns')).sort(), netnsBefore);
        t.diagnostic(`${driver}: not in this kernel (${made.stderr.trim()}); checked the error path`);
        await b.ok(['network', 'rm', net]);
        continue;
      }
      const out = await b.ok(['run', '--rm', '--network', net, IMG, 'ip', '-o', 'addr', 'show', 'eth0']);
      const ip = parseIpv4Addrs(out).get('eth0');
      assert.ok(ip && inSubnet(ip.replace(/\/\d+$/, ''), subnet), `${driver}: ${out}`);
      // ipvlan interfaces share the parent's MAC address; macvlan ones get their own
      const mac = (
        await b.ok(['run', '--rm', '--network', net, IMG, 'cat', '/sys/class/net/eth0/address'])
      ).trim();
      const parentMac = readFileSync(`/sys/class/net/${parent}/address`, 'utf8').trim();
      if (driver === 'ipvlan') assert.equal(mac, parentMac);
      else assert.notEqual(mac, parentMac);
      // published ports need a bridge: refused clearly, and nothing is left
      const before = (await b.ok(['ps', '-aq'])).trim();
      const r = await b.run(['run', '--rm', '--network', net, '-p', '8080:80', IMG, 'true']);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /only bridge networks publish ports/);
      assert.equal((await b.ok(['ps', '-aq'])).trim(), before);
      await b.ok(['network', 'rm', net]);
    }
  });
});

describe('host ports held while the container runs', { skip }, () => {
  test('a host process cannot bind a published port until the container is gone; the container never sees the socket', async () => {
    const [tcp, udp] = [await freePorts(), await freePorts()];
    await httpd('held', ['-p', `127.0.0.1:${tcp}:80`, '-p', `${udp}:5000/udp`]);
    try {
      assert.equal(await bodyOnceServing('127.0.0.1', tcp), PAGE);
      // as docker-proxy or Podman's conmon: the port is taken on the host, for TCP and UDP
      await assert.rejects(listenOn(tcp, '127.0.0.1'), /EADDRINUSE/);
      await assert.rejects(bindUdp(udp), /EADDRINUSE/);
      // the held sockets stay with conmon: the container has only its own descriptors
      const fds = await b.ok(['exec', 'held', 'ls', '/proc/1/fd']);
      assert.deepEqual(fds.trim().split(/\s+/).sort(), ['0', '1', '2', '3']);
    } finally {
      await b.run(['rm', '-f', 'held']);
    }
    const srv = await listenOn(tcp, '127.0.0.1');
    await new Promise((r) => srv.close(r));
    const sock = await bindUdp(udp);
    sock.close();
  });
});

/** A UDP socket of this process bound to every address on `port`. */
function bindUdp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', (err) => {
      sock.close();
      reject(err);
    });
    sock.bind({ port, address: '0.0.0.0', exclusive: true }, () => resolve(sock));
  });
}

describe('bad input', { skip }, () => {
  test('a clear error and nothing changed: containers, networks, namespaces', async () => {
    const net = `${P}-bad`;
    myNetworks.push(net);
    await b.ok(['network', 'create', net]);
    const { subnet } = await networkSubnet(b, net);
    const state = async () => ({
      ps: await b.ok(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.State}}']),
      nets: await b.ok(['network', 'ls', '--no-trunc']),
      netns: existsSync(join(b.runroot, 'netns')) ? readdirSync(join(b.runroot, 'netns')).sort() : [],
    });
    const before = await state();
    const creates: [string[], RegExp][] = [
      [['--subnet', '10.300.0.0/16', `${P}-x`], /invalid subnet "10\.300\.0\.0/],
      [['--subnet', subnet, `${P}-x`], new RegExp(`overlaps subnet ${subnet.replace(/\./g, '\\.')}`)],
    ];
    for (const [args, pattern] of creates) {
      const r = await b.run(['network', 'create', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, pattern, args.join(' '));
    }
    const outside = nthAddress(subnet, -1); // the address just below the subnet
    const runs: [string[], RegExp][] = [
      [['--network', 'nope'], /no such network: nope|network nope not found/],
      [['-p', '70000:80'], /70000/],
      [['-p', '80/xyz'], /xyz/],
      [['--network', net, '--ip', outside], new RegExp(outside.replace(/\./g, '\\.'))],
      [['--network', 'none', '--network-alias', 'al'], /--network-alias|alias/],
    ];
    for (const [args, pattern] of runs) {
      const r = await b.run(['run', '-d', '--name', 'bad-one', ...args, IMG, 'sleep', '600']);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.deepEqual(await state(), before, `run ${args.join(' ')} changed something`);
    }
  });
});
