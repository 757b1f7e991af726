// Containers on user networks with real runc, conmon, CNI plugins (bridge, host-local, dnsname
// with its dnsmasq), namespaces and sockets: names resolved through the network's DNS responder,
// --internal networks, --network container:, connect/disconnect of running containers, the
// /etc files and UTS names from the flags, --ip/--mac-address, and several networks at once.
// Network names carry a random prefix: dnsname's state (/run/containers/cni/dnsname/<net>) and
// host-local's leases are host-wide.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import {
  containerIp,
  inSubnet,
  networkSubnet,
  nthAddress,
  parseIpv4Addrs,
  uniquePrefix,
} from '../helpers/net.js';
import { missing, skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacks = missing({ root: true, commands: ['runc', 'conmon', 'iptables', 'ip', 'dnsmasq'] });
const skip = skipUnless(lacks ?? '', lacks === undefined);
const work = mkdtempSync(join(tmpdir(), 'berth-cn-names-it-'));
const b = new Berth();
const IMG = 'local/bb:names';
const PAGE = 'names page\n';
const P = uniquePrefix();
const NET1 = `${P}-net1`;
const NET2 = `${P}-net2`;
const myNetworks: string[] = [];

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  mkdirSync(join(bundle.rootfs, 'www'), { recursive: true });
  writeFileSync(join(bundle.rootfs, 'www', 'index.html'), PAGE);
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG, ['CMD ["sh"]']);
  for (const n of [NET1, NET2]) await createNetwork([n]);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  for (const n of myNetworks.reverse()) await b.run(['network', 'rm', '-f', n]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function createNetwork(args: string[]): Promise<void> {
  const name = args[args.length - 1]!;
  myNetworks.push(name);
  await b.ok(['network', 'create', ...args]);
}

/** A detached container that idles (for exec). */
async function idle(name: string, flags: string[] = []): Promise<void> {
  await b.ok(['run', '-d', '--name', name, ...flags, IMG, 'sleep', '600']);
}

/**
 * `nslookup NAME` inside `from` until its answer names `ip` (dnsmasq rereads its hosts file on
 * dnsname's SIGHUP, asynchronously): the output. Busybox's nslookup asks resolv.conf's server.
 */
async function resolves(from: string, name: string, ip: string): Promise<string> {
  let last = '';
  return waitFor(
    async () => {
      const r = await b.run(['exec', from, 'timeout', '5', 'nslookup', name]);
      last = `${r.code} ${r.stdout} ${r.stderr}`;
      return r.code === 0 && new RegExp(`^Address:\\s+${ip.replace(/\./g, '\\.')}$`, 'm').test(r.stdout)
        ? r.stdout
        : undefined;
    },
    { what: `${name} to resolve to ${ip} from ${from} (last: ${last})`, timeoutMs: 20_000 },
  );
}

/** `nslookup NAME` inside `from` until the server says it does not know it (NXDOMAIN): the output. */
async function unresolvable(from: string, name: string): Promise<string> {
  let last = '';
  return waitFor(
    async () => {
      const r = await b.run(['exec', from, 'timeout', '5', 'nslookup', name]);
      last = `${r.code} ${r.stdout} ${r.stderr}`;
      return r.code !== 0 && /NXDOMAIN/.test(`${r.stdout}${r.stderr}`) ? last : undefined;
    },
    { what: `${name} to be unknown to ${from}'s name server (last: ${last})`, timeoutMs: 20_000 },
  );
}

/** wget from inside `from` until it answers (busybox 1.35's `wget -T` segfaults: `timeout` bounds it). */
async function wgetFrom(from: string, url: string): Promise<string> {
  return waitFor(
    async () => {
      const r = await b.run(['exec', from, 'timeout', '5', 'wget', '-q', '-O', '-', url]);
      return r.code === 0 ? r.stdout : undefined;
    },
    { what: `${url} to answer from ${from}`, timeoutMs: 20_000 },
  );
}

function nameservers(resolvConf: string): string[] {
  return [...resolvConf.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]!);
}

describe('names on a user network', { skip }, () => {
  test('by name and alias, a later container too, not across networks; resolv.conf points at the gateway', async () => {
    const { gateway } = await networkSubnet(b, NET1);
    await idle('dn-a', ['--network', NET1, '--network-alias', 'alpha']);
    await idle('dn-b', ['--network', NET1]);
    const ipA = await containerIp(b, 'dn-a', NET1);
    assert.match(await resolves('dn-b', 'dn-a', ipA), /Name:\s+dn-a/);
    await resolves('dn-b', 'alpha', ipA);
    await resolves('dn-b', 'dn-a.dns.berth', ipA);

    const conf = await b.ok(['exec', 'dn-b', 'cat', '/etc/resolv.conf']);
    assert.equal(nameservers(conf)[0], gateway, conf);
    assert.match(conf, /^search\s+(\S+\s+)*dns\.berth(\s|$)/m);

    // started after a and b: a finds it; once removed, nobody does
    await idle('dn-c', ['--network', NET1]);
    await resolves('dn-a', 'dn-c', await containerIp(b, 'dn-c', NET1));
    await b.ok(['rm', '-f', 'dn-c']);
    await unresolvable('dn-a', 'dn-c.dns.berth');

    // on another network: its own network resolves it, b's does not
    await idle('dn-d', ['--network', NET2]);
    const ipD = await containerIp(b, 'dn-d', NET2);
    await resolves('dn-d', 'dn-d', ipD);
    const r = await unresolvable('dn-b', 'dn-d.dns.berth');
    assert.doesNotMatch(r, new RegExp(ipD.replace(/\./g, '\\.')));
  });

  test("the default network has no name service: resolv.conf has the host's servers", async () => {
    await idle('dn-def');
    const conf = await b.ok(['exec', 'dn-def', 'cat', '/etc/resolv.conf']);
    const host = nameservers(readFileSync('/etc/resolv.conf', 'utf8')).filter((s) => !/^127\.|^::1$/.test(s));
    const { gateway } = await networkSubnet(b, 'berth');
    assert.ok(!nameservers(conf).includes(gateway), conf);
    if (host.length) assert.deepEqual(nameservers(conf), host);
    assert.doesNotMatch(conf, /dns\.berth/);
    // /etc/hosts names the container at its own address
    const ip = await containerIp(b, 'dn-def', 'berth');
    const hosts = await b.ok(['exec', 'dn-def', 'cat', '/etc/hosts']);
    assert.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s.*\\bdn-def\\b`, 'm'), hosts);
  });
});

describe('--internal networks', { skip }, () => {
  test('no default route, and the containers on it still reach each other', async () => {
    const net = `${P}-int`;
    await createNetwork(['--internal', net]);
    await b.ok([
      'run',
      '-d',
      '--name',
      'int-srv',
      '--network',
      net,
      IMG,
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/www',
    ]);
    await idle('int-cli', ['--network', net]);
    for (const c of ['int-srv', 'int-cli']) {
      const routes = await b.ok(['exec', c, 'ip', '-4', 'route', 'show']);
      assert.doesNotMatch(routes, /^default/m, `${c}: ${routes}`);
      assert.match(routes, /dev eth0/);
    }
    const ip = await containerIp(b, 'int-srv', net);
    assert.equal(await wgetFrom('int-cli', `http://${ip}:80/`), PAGE);
  });
});

describe('--network container:NAME', { skip }, () => {
  test('shares the network and UTS namespaces; --hostname with it is refused', async () => {
    await idle('host-ctr', ['--hostname', 'sharedhost']);
    const show = ['sh', '-c', 'ip -o addr show; echo ---; hostname'];
    const own = await b.ok(['exec', 'host-ctr', ...show]);
    const joined = await b.ok(['run', '--rm', '--network', 'container:host-ctr', IMG, ...show]);
    assert.equal(joined, own);
    assert.match(joined, /---\nsharedhost\n$/);
    assert.match(joined, /eth0/);
    const r = await b.run([
      'run',
      '--rm',
      '--network',
      'container:host-ctr',
      '--hostname',
      'other',
      IMG,
      'true',
    ]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /--hostname/);
  });
});

describe('network connect and disconnect', { skip }, () => {
  test('a running container gets eth1 on the other network and its name there, then loses both', async () => {
    await idle('cd-ctr', ['--network', NET1]);
    await idle('cd-peer', ['--network', NET2]);
    const { subnet: s2 } = await networkSubnet(b, NET2);
    const addrs = async () =>
      parseIpv4Addrs(await b.ok(['exec', 'cd-ctr', 'ip', '-4', '-o', 'addr', 'show']));
    const networks = async () =>
      Object.keys(JSON.parse(await b.ok(['inspect', 'cd-ctr']))[0].NetworkSettings.Networks).sort();
    assert.equal((await addrs()).has('eth1'), false);
    await b.ok(['network', 'connect', NET2, 'cd-ctr']);
    const eth1 = (await addrs()).get('eth1');
    assert.ok(eth1 && inSubnet(eth1.split('/')[0]!, s2), `eth1 ${eth1} in ${s2}`);
    assert.deepEqual(await networks(), [NET1, NET2].sort());
    assert.equal(await containerIp(b, 'cd-ctr', NET2), eth1.split('/')[0]);
    await resolves('cd-peer', 'cd-ctr', eth1.split('/')[0]!);
    await b.ok(['network', 'disconnect', NET2, 'cd-ctr']);
    const after = await addrs();
    assert.equal(after.has('eth1'), false);
    assert.ok(after.has('eth0'));
    assert.notEqual((await b.run(['exec', 'cd-ctr', 'ip', 'link', 'show', 'eth1'])).code, 0);
    assert.deepEqual(await networks(), [NET1]);
    await unresolvable('cd-peer', 'cd-ctr.dns.berth');
  });
});

describe('the /etc files and names from the flags', { skip }, () => {
  test('--add-host, --dns, --dns-search, --dns-option, --hostname, --domainname', async () => {
    const { gateway } = await networkSubnet(b, NET1);
    const flags = [
      '--add-host',
      'db.example:10.1.2.3',
      '--add-host',
      'host.berth.internal:host-gateway',
      '--dns',
      '10.9.9.9',
      '--dns-search',
      'example.org',
      '--dns-option',
      'ndots:2',
      '--hostname',
      'hh1',
      '--domainname',
      'dd.example',
    ];
    const script =
      'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname; cat /proc/sys/kernel/domainname';
    for (const network of ['berth', NET1]) {
      const out = await b.ok(['run', '--rm', '--network', network, ...flags, IMG, 'sh', '-c', script]);
      const [hosts, conf, names] = out.split('---\n') as [string, string, string];
      assert.match(hosts, /^10\.1\.2\.3\s+db\.example$/m, network);
      const gw = network === 'berth' ? (await networkSubnet(b, 'berth')).gateway : gateway;
      assert.match(
        hosts,
        new RegExp(`^${gw.replace(/\./g, '\\.')}\\s+host\\.berth\\.internal$`, 'm'),
        network,
      );
      assert.match(hosts, /\shh1(\s|$)/m, network);
      assert.deepEqual(nameservers(conf), network === 'berth' ? ['10.9.9.9'] : [gateway, '10.9.9.9'], conf);
      assert.match(conf, /^search .*example\.org/m, network);
      assert.match(conf, /^options ndots:2$/m, network);
      assert.equal(names, 'hh1\ndd.example\n', network);
    }
  });

  test('--ip and --mac-address on a user network are honoured; --ip outside the subnet fails', async () => {
    const { subnet } = await networkSubnet(b, NET2);
    const ip = nthAddress(subnet, 200);
    const mac = '02:42:ac:11:00:99';
    const out = await b.ok([
      'run',
      '--rm',
      '--network',
      NET2,
      '--ip',
      ip,
      '--mac-address',
      mac,
      IMG,
      'ip',
      'addr',
      'show',
      'eth0',
    ]);
    assert.match(out, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/\\d+`));
    assert.match(out, new RegExp(`link/ether ${mac}`));
    const outside = nthAddress(subnet, -1);
    const r = await b.run(['run', '--rm', '--network', NET2, '--ip', outside, IMG, 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`${outside.replace(/\./g, '\\.')}`));
  });
});

describe('several networks', { skip }, () => {
  test('--network n1 --network n2 gives eth0 on n1 and eth1 on n2', async () => {
    const { subnet: s1 } = await networkSubnet(b, NET1);
    const { subnet: s2 } = await networkSubnet(b, NET2);
    const out = await b.ok([
      'run',
      '--rm',
      '--network',
      NET1,
      '--network',
      NET2,
      IMG,
      'ip',
      '-4',
      '-o',
      'addr',
    ]);
    const addrs = parseIpv4Addrs(out);
    assert.ok(inSubnet(addrs.get('eth0')!.split('/')[0]!, s1), out);
    assert.ok(inSubnet(addrs.get('eth1')!.split('/')[0]!, s2), out);
    // the comma form is the same
    const comma = parseIpv4Addrs(
      await b.ok(['run', '--rm', '--network', `${NET1},${NET2}`, IMG, 'ip', '-4', '-o', 'addr']),
    );
    assert.ok(inSubnet(comma.get('eth0')!.split('/')[0]!, s1));
    assert.ok(inSubnet(comma.get('eth1')!.split('/')[0]!, s2));
  });
});
