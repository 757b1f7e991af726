import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { PortMapping } from '../network/index.js';
import {
  allocateHostPorts,
  checkHostPortsFree,
  exposedPortKeys,
  formatPortsColumn,
  hostPortKeys,
  MAX_PORTS_PER_SPEC,
  parseExposeFlag,
  parsePublishFlag,
  portBindingsMap,
  portCommandLines,
  publishAllPorts,
} from './_ports.js';

const tcp = (hostIp: string, hostPort: number, containerPort: number): PortMapping => ({
  hostIp,
  hostPort,
  containerPort,
  protocol: 'tcp',
});

test('-p: the forms Docker accepts', () => {
  const cases: [string, PortMapping[]][] = [
    ['80', [tcp('', 0, 80)]],
    ['8080:80', [tcp('', 8080, 80)]],
    ['8080:80/udp', [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['8080:80/SCTP', [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'sctp' }]],
    ['127.0.0.1:8080:80', [tcp('127.0.0.1', 8080, 80)]],
    ['127.0.0.1::80', [tcp('127.0.0.1', 0, 80)]],
    ['0.0.0.0:80:80/tcp', [tcp('0.0.0.0', 80, 80)]],
    ['[::1]:8080:80', [tcp('::1', 8080, 80)]],
    ['[::1]::80', [tcp('::1', 0, 80)]],
    ['::1:8080:80', [tcp('::1', 8080, 80)]],
    ['[FE80::1]:8080:80', [tcp('fe80::1', 8080, 80)]],
    ['65535:1', [tcp('', 65535, 1)]],
    [' 8080:80 ', [tcp('', 8080, 80)]],
    ['8000-8002:80-82', [tcp('', 8000, 80), tcp('', 8001, 81), tcp('', 8002, 82)]],
    ['80-81', [tcp('', 0, 80), tcp('', 0, 81)]],
    [
      '127.0.0.1::80-81/udp',
      [80, 81].map((p) => ({ hostIp: '127.0.0.1', hostPort: 0, containerPort: p, protocol: 'udp' as const })),
    ],
    ['8000-8000:80', [tcp('', 8000, 80)]],
    ['8000-8010:80', [{ ...tcp('', 0, 80), hostRange: { start: 8000, end: 8010 } }]],
  ];
  for (const [spec, want] of cases) assert.deepEqual(parsePublishFlag(spec), want, spec);
});

test('-p: every bad input is an InvalidArgumentError that says what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['', /empty port specification/],
    ['   ', /empty port specification/],
    ['0', /container port 0 is out of range/],
    ['8080:0', /container port 0 is out of range/],
    ['0:80', /host port 0 is out of range/],
    ['65536', /out of range/],
    ['99999999999999999999', /out of range/],
    ['http', /container port "http" is not a number/],
    ['80a', /not a number/],
    ['-80', /empty container port range start/],
    ['80-', /empty container port range end/],
    ['+80', /not a number/],
    ['8080:80/icmp', /unknown protocol "icmp"/],
    ['8080:80/', /empty protocol/],
    ['8080:80/tcp/udp', /more than one "\/"/],
    ['8080:', /empty container port/],
    [':80', /empty host port/],
    ['::80', /empty host IP/],
    ['1.2.3:8080:80', /host IP "1.2.3" is not an IPv4 or IPv6 address/],
    ['256.0.0.1:8080:80', /not an IPv4 or IPv6 address/],
    ['localhost:8080:80', /not an IPv4 or IPv6 address/],
    ['[::1:8080:80', /missing "\]"/],
    ['[127.0.0.1]:8080:80', /not an IPv6 address/],
    ['[::1]:80', /expected \[IPv6\]:HOSTPORT:CONTAINERPORT/],
    ['[::1]8080:80', /expected \[IPv6\]/],
    ['[]:8080:80', /not an IPv6 address/],
    ['8000-8002:80-81', /differ in length/],
    ['8080:80-81', /differ in length/],
    ['8002-8000:80-82', /host port range 8002-8000 is reversed/],
    ['82-80', /container port range 82-80 is reversed/],
    ['80-90-100', /not a number/],
    [`1-${MAX_PORTS_PER_SPEC + 1}`, /more than 10000/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parsePublishFlag(spec),
      (e: unknown) =>
        e instanceof InvalidArgumentError && message.test(e.message) && e.message.includes('-p'),
      `${JSON.stringify(spec)} should fail with ${message}`,
    );
  }
  // a host pool of any size is one mapping, not an expansion
  assert.equal(parsePublishFlag('1-65535:80').length, 1);
});

test('--expose: single ports, protocols, ranges, and the same checks', () => {
  assert.deepEqual(parseExposeFlag('80'), ['80/tcp']);
  assert.deepEqual(parseExposeFlag('80/udp'), ['80/udp']);
  assert.deepEqual(parseExposeFlag('8000-8002/tcp'), ['8000/tcp', '8001/tcp', '8002/tcp']);
  assert.equal(parseExposeFlag(`1-${MAX_PORTS_PER_SPEC}`).length, MAX_PORTS_PER_SPEC);
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['0', /out of range/],
    ['65536/tcp', /out of range/],
    ['eighty', /not a number/],
    ['80/quic', /unknown protocol/],
    ['80/', /empty protocol/],
    ['90-80', /reversed/],
    ['8080:80', /use -p/],
    [`1-${MAX_PORTS_PER_SPEC + 1}`, /more than 10000/],
    ['1-65535', /more than 10000/],
  ];
  for (const [spec, message] of bad) {
    assert.throws(
      () => parseExposeFlag(spec),
      (e: unknown) =>
        e instanceof InvalidArgumentError && message.test(e.message) && e.message.includes('--expose'),
      spec,
    );
  }
});

test('-P publishes every exposed port once, on a random host port, leaving -p ports to -p', () => {
  assert.deepEqual(publishAllPorts(['80/tcp', '53/udp', '80/tcp', '443']), [
    tcp('', 0, 80),
    { hostIp: '', hostPort: 0, containerPort: 53, protocol: 'udp' },
    tcp('', 0, 443),
  ]);
  assert.deepEqual(publishAllPorts(['80/tcp', '443/tcp'], { published: [tcp('', 8080, 80)] }), [
    tcp('', 0, 443),
  ]);
  assert.throws(() => publishAllPorts(['80/xyz']), InvalidArgumentError);
  const many = Array.from({ length: MAX_PORTS_PER_SPEC + 1 }, (_, i) => `${i + 1}/tcp`);
  assert.throws(() => publishAllPorts(many), /more than 10000/);
  assert.deepEqual(exposedPortKeys([tcp('', 8080, 80), tcp('', 0, 22)], ['443/tcp', '80', '53/udp']), [
    '22/tcp',
    '53/udp',
    '80/tcp',
    '443/tcp',
  ]);
});

/** A TCP listener on 127.0.0.1 (random port) that the test closes in `finally`. */
async function listenTcp(port = 0): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  return server;
}

async function bindUdp(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: '127.0.0.1', port: 0 }, () => resolve());
  });
  return socket;
}

const closeServer = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));
const closeSocket = (s: Socket) => new Promise<void>((resolve) => s.close(() => resolve()));

test('checkHostPortsFree: a host listener, a berth container and a duplicate are conflicts', async () => {
  const server = await listenTcp();
  const udp = await bindUdp();
  try {
    const port = (server.address() as AddressInfo).port;
    await assert.rejects(
      checkHostPortsFree([tcp('127.0.0.1', port, 80)], new Set()),
      (e: unknown) =>
        e instanceof ConflictError &&
        e.message === `Bind for 127.0.0.1:${port} failed: address already in use on the host`,
    );
    // a wildcard binding collides with the loopback listener too
    await assert.rejects(checkHostPortsFree([tcp('', port, 80)], new Set()), ConflictError);
    const udpPort = udp.address().port;
    await assert.rejects(
      checkHostPortsFree(
        [{ hostIp: '127.0.0.1', hostPort: udpPort, containerPort: 53, protocol: 'udp' }],
        new Set(),
      ),
      /address already in use/,
    );
    await assert.rejects(
      checkHostPortsFree([tcp('', 8080, 80)], new Set(['tcp/8080'])),
      (e: unknown) =>
        e instanceof ConflictError && e.message === 'Bind for 0.0.0.0:8080 failed: port is already allocated',
    );
    await assert.rejects(
      checkHostPortsFree([tcp('::1', 8080, 80)], new Set(['tcp/8080'])),
      /Bind for \[::1\]:8080 failed/,
    );
    await assert.rejects(
      checkHostPortsFree([tcp('', 8080, 80), tcp('127.0.0.1', 8080, 81)], new Set()),
      /published twice/,
    );
    // the same port on two protocols, or on two distinct addresses, is no conflict (nothing is bound)
    const free = await allocateHostPorts([tcp('127.0.0.1', 0, 80)], new Set());
    const p = free[0]!.hostPort;
    await checkHostPortsFree(
      [tcp('127.0.0.1', p, 80), { hostIp: '127.0.0.1', hostPort: p, containerPort: 80, protocol: 'udp' }],
      new Set([`sctp/${p}`]),
    );
    await checkHostPortsFree([], new Set());
    await checkHostPortsFree([tcp('127.0.0.1', 0, 80)], new Set()); // left to allocateHostPorts
  } finally {
    await closeServer(server);
    await closeSocket(udp);
  }
});

test("checkHostPortsFree: an address that is not the host's is a bad argument, not a conflict", async () => {
  // 192.0.2.0/24 is TEST-NET-1: never assigned to a host
  await assert.rejects(
    checkHostPortsFree([tcp('192.0.2.1', 8080, 80)], new Set()),
    (e: unknown) => e instanceof InvalidArgumentError && /not an address of this host/.test(e.message),
  );
});

test('checkHostPortsFree leaves nothing bound: the same port can be checked again and listened on', async () => {
  const picked = await allocateHostPorts([tcp('127.0.0.1', 0, 80)], new Set());
  const port = picked[0]!.hostPort;
  for (let i = 0; i < 3; i++) await checkHostPortsFree([tcp('127.0.0.1', port, 80)], new Set());
  const server = await listenTcp(port);
  await closeServer(server);
});

test('allocateHostPorts fills only hostPort 0, avoids taken and explicit ports, keeps order', async () => {
  const server = await listenTcp();
  try {
    const busy = (server.address() as AddressInfo).port;
    const input: PortMapping[] = [
      tcp('127.0.0.1', 0, 80),
      tcp('127.0.0.1', 9999, 81),
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'udp' },
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 5000, protocol: 'sctp' },
      tcp('127.0.0.1', 0, 82),
    ];
    const taken = new Set([`tcp/${busy}`]);
    const out = await allocateHostPorts(input, taken);
    assert.equal(out.length, input.length);
    assert.equal(input[0]!.hostPort, 0, 'input untouched');
    assert.equal(out[1]!.hostPort, 9999);
    for (const [i, m] of out.entries()) {
      assert.equal(m.containerPort, input[i]!.containerPort);
      assert.equal(m.protocol, input[i]!.protocol);
      assert.ok(m.hostPort >= 1 && m.hostPort <= 65535, `port ${m.hostPort}`);
      assert.ok(!taken.has(`${m.protocol}/${m.hostPort}`));
    }
    const keys = hostPortKeys(out);
    assert.equal(new Set(keys).size, keys.length, 'no port handed out twice');
    assert.notEqual(out[0]!.hostPort, busy);
    // the picked tcp ports are really free: a listener can take them
    for (const m of [out[0]!, out[4]!]) await closeServer(await listenTcp(m.hostPort));
  } finally {
    await closeServer(server);
  }
});

test('allocateHostPorts takes the first free port of a host pool, skipping listeners and taken ones', async () => {
  // three adjacent free ports, found by asking for a pool that is certainly free
  const servers: Server[] = [];
  try {
    let start = 0;
    for (let attempt = 0; attempt < 20 && start === 0; attempt++) {
      const probe = await listenTcp();
      const p = (probe.address() as AddressInfo).port;
      await closeServer(probe);
      if (p + 2 > 65535) continue;
      try {
        for (let i = 0; i < 3; i++) servers.push(await listenTcp(p + i));
        start = p;
      } catch {
        for (const s of servers.splice(0)) await closeServer(s);
      }
    }
    if (start === 0) assert.fail('found no three adjacent free loopback ports');
    // start stays held by a listener; start+1 is marked taken by a berth container; start+2 is free
    await closeServer(servers.pop()!);
    await closeServer(servers.pop()!);
    const pool: PortMapping = { ...tcp('127.0.0.1', 0, 80), hostRange: { start, end: start + 2 } };
    const out = await allocateHostPorts([pool], new Set([`tcp/${start + 1}`]));
    assert.equal(out[0]!.hostPort, start + 2);
    await assert.rejects(
      allocateHostPorts([{ ...pool, hostRange: { start, end: start + 1 } }], new Set([`tcp/${start + 1}`])),
      (e: unknown) =>
        e instanceof ConflictError &&
        e.message === `Bind for 127.0.0.1:${start}-${start + 1} failed: all ports are allocated`,
    );
  } finally {
    for (const s of servers) await closeServer(s);
  }
});

test("allocateHostPorts refuses an address that is not the host's", async () => {
  await assert.rejects(allocateHostPorts([tcp('192.0.2.1', 0, 80)], new Set()), InvalidArgumentError);
});

test('portBindingsMap: Docker inspect shape, exposed-only ports as null, sorted keys', () => {
  const map = portBindingsMap(
    [
      tcp('', 8080, 80),
      tcp('127.0.0.1', 8443, 443),
      { hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      tcp('', 0, 22),
    ],
    ['80/tcp', '9000/tcp'],
  );
  assert.deepEqual(map, {
    '22/tcp': null,
    '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '8443' }],
    '53/udp': [{ HostIp: '0.0.0.0', HostPort: '5353' }],
    '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }],
    '9000/tcp': null,
  });
  assert.deepEqual(Object.keys(map), ['22/tcp', '443/tcp', '53/udp', '80/tcp', '9000/tcp']);
  assert.deepEqual(portBindingsMap([tcp('', 8080, 80)], [], { ipv6: true }), {
    '80/tcp': [
      { HostIp: '0.0.0.0', HostPort: '8080' },
      { HostIp: '::', HostPort: '8080' },
    ],
  });
  assert.deepEqual(portBindingsMap([], []), {});
});

test('formatPortsColumn: Docker ps style with ranges collapsed', () => {
  assert.equal(formatPortsColumn([]), '');
  assert.equal(formatPortsColumn([tcp('', 8080, 80)]), '0.0.0.0:8080->80/tcp');
  assert.equal(
    formatPortsColumn([tcp('', 8080, 80)], { ipv6: true }),
    '0.0.0.0:8080->80/tcp, :::8080->80/tcp',
  );
  assert.equal(formatPortsColumn(parsePublishFlag('8000-8002:80-82')), '0.0.0.0:8000-8002->80-82/tcp');
  assert.equal(
    formatPortsColumn(parsePublishFlag('8000-8002:8000-8002/udp')),
    '0.0.0.0:8000-8002->8000-8002/udp',
  );
  // a break on either side ends the run
  assert.equal(
    formatPortsColumn([tcp('', 8000, 80), tcp('', 8005, 81), tcp('', 8006, 82)]),
    '0.0.0.0:8000->80/tcp, 0.0.0.0:8005-8006->81-82/tcp',
  );
  assert.equal(
    formatPortsColumn([tcp('127.0.0.1', 8080, 80), tcp('::1', 8080, 80), tcp('', 9000, 90)], {
      exposed: ['80/tcp', '443/tcp', '444/tcp', '53/udp'],
    }),
    '53/udp, 127.0.0.1:8080->80/tcp, ::1:8080->80/tcp, 0.0.0.0:9000->90/tcp, 443-444/tcp',
  );
  // not picked yet: shown as exposed
  assert.equal(formatPortsColumn([tcp('', 0, 80), tcp('', 0, 81)]), '80-81/tcp');
  // same container port on two protocols
  assert.equal(
    formatPortsColumn(parsePublishFlag('53:53/udp').concat(parsePublishFlag('53:53'))),
    '0.0.0.0:53->53/tcp, 0.0.0.0:53->53/udp',
  );
});

test('portCommandLines: all bindings, one port, and a NotFoundError for an unpublished one', () => {
  const mappings = [
    tcp('', 8080, 80),
    { hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp' as const },
    tcp('::1', 8443, 443),
    tcp('', 0, 22),
  ];
  assert.deepEqual(portCommandLines(mappings), [
    '53/udp -> 0.0.0.0:5353',
    '80/tcp -> 0.0.0.0:8080',
    '443/tcp -> [::1]:8443',
  ]);
  assert.deepEqual(portCommandLines(mappings, undefined, { ipv6: true }).slice(2, 4), [
    '80/tcp -> 0.0.0.0:8080',
    '80/tcp -> [::]:8080',
  ]);
  assert.deepEqual(portCommandLines(mappings, '80'), ['0.0.0.0:8080']);
  assert.deepEqual(portCommandLines(mappings, '53/udp'), ['0.0.0.0:5353']);
  assert.deepEqual(portCommandLines(mappings, '443/tcp'), ['[::1]:8443']);
  assert.throws(
    () => portCommandLines(mappings, '81', { name: 'web' }),
    (e: unknown) => e instanceof NotFoundError && e.message === "no public port '81/tcp' published for web",
  );
  assert.throws(() => portCommandLines(mappings, '53/tcp', { name: 'web' }), /no public port '53\/tcp'/);
  assert.throws(() => portCommandLines(mappings, '22', { name: 'web' }), NotFoundError);
  assert.throws(() => portCommandLines(mappings, '80/xyz'), InvalidArgumentError);
  assert.throws(() => portCommandLines(mappings, 'http'), InvalidArgumentError);
  assert.deepEqual(portCommandLines([]), []);
});

/** Open socket descriptors of this process (a closed probe's fd goes at once; its handle object later). */
function socketFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // the directory's own fd, gone by now
    }
  }
  return n;
}

test('probing leaves no socket open, whether the bind succeeds or fails', async (t) => {
  if (!existsSync('/proc/self/fd')) return t.skip('needs /proc/self/fd to count sockets');
  const server = await listenTcp();
  const udp = await bindUdp();
  try {
    const before = socketFds();
    const busy = (server.address() as AddressInfo).port;
    const udpBusy = udp.address().port;
    for (let i = 0; i < 5; i++) {
      await allocateHostPorts(
        [tcp('127.0.0.1', 0, 80), { hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'udp' }],
        new Set(),
      );
      await assert.rejects(checkHostPortsFree([tcp('127.0.0.1', busy, 80)], new Set()), ConflictError);
      await assert.rejects(
        checkHostPortsFree(
          [{ hostIp: '127.0.0.1', hostPort: udpBusy, containerPort: 53, protocol: 'udp' }],
          new Set(),
        ),
        ConflictError,
      );
      await assert.rejects(checkHostPortsFree([tcp('192.0.2.1', 8080, 80)], new Set()), InvalidArgumentError);
      await assert.rejects(
        checkHostPortsFree(
          [{ hostIp: '192.0.2.1', hostPort: 8080, containerPort: 53, protocol: 'udp' }],
          new Set(),
        ),
        InvalidArgumentError,
      );
    }
    assert.equal(socketFds(), before);
  } finally {
    await closeServer(server);
    await closeSocket(udp);
  }
});
