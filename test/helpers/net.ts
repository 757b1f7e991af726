// Helpers for the container networking tests: HTTP and UDP over real sockets (loopback, the
// host's own address, or a container's address on berth's subnets), free host ports, IPv4
// subnet arithmetic, and reading addresses off `berth inspect` / `network inspect`.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Berth } from './berth.js';
import { waitFor } from './wait.js';

/** A prefix for network names unique to one test file's run (dnsname state is host-wide). */
export function uniquePrefix(): string {
  return `cn-${randomBytes(3).toString('hex')}`;
}

/** GET http://host:port/path once, with a short timeout: the status and the body. */
export function httpGet(host: string, port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path, timeout: 3000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}${path} timed out`)));
    req.on('error', reject);
  });
}

/** The body of GET http://host:port/path once it answers 200 (polled, with a deadline). */
export async function bodyOnceServing(host: string, port: number, path = '/'): Promise<string> {
  return waitFor(
    async () => {
      const r = await httpGet(host, port, path);
      return r.status === 200 ? r.body : undefined;
    },
    { what: `http://${host}:${port}${path} to answer 200`, timeoutMs: 20_000 },
  );
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive TCP ports free on every address (bounded tries). */
export async function freePorts(count = 1): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (30000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await canListen(p, '0.0.0.0');
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** A plain TCP server of this process on host:port (a host process holding a port). */
export function listenOn(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => s.end('held by the host\n'));
    srv.once('error', reject);
    srv.listen({ port, host }, () => resolve(srv));
  });
}

/**
 * The host's own non-loopback IPv4 address: the source address of its default route's device
 * (read with `ip`, no traffic). Undefined without a default route.
 */
export function hostAddress(): string | undefined {
  try {
    const route = execFileSync('ip', ['-4', 'route', 'show', 'default'], { encoding: 'utf8' });
    const dev = /\bdev (\S+)/.exec(route)?.[1];
    if (!dev) return undefined;
    const addr = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', dev, 'scope', 'global'], {
      encoding: 'utf8',
    });
    return /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(addr)?.[1];
  } catch {
    return undefined;
  }
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Is `ip` inside the IPv4 `cidr`? */
export function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const n = Number(bits);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return (ipToInt(ip) & mask) === (ipToInt(base) & mask);
}

/** The `offset`-th address of an IPv4 subnet (10.1.2.0/24, 200 → 10.1.2.200). */
export function nthAddress(cidr: string, offset: number): string {
  const n = (ipToInt(cidr.split('/')[0]!) + offset) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** A network's first IPv4 subnet and gateway, from `network inspect`. */
export async function networkSubnet(b: Berth, name: string): Promise<{ subnet: string; gateway: string }> {
  const [info] = JSON.parse(await b.ok(['network', 'inspect', name]));
  const cfg = (info.IPAM.Config as { Subnet: string; Gateway: string }[]).find(
    (c) => !c.Subnet.includes(':'),
  );
  if (!cfg) throw new Error(`network ${name} has no IPv4 subnet`);
  return { subnet: cfg.Subnet, gateway: cfg.Gateway };
}

/** A container's IPv4 address on `network` (its first when not given), from `inspect`. */
export async function containerIp(b: Berth, container: string, network?: string): Promise<string> {
  const [info] = JSON.parse(await b.ok(['inspect', container]));
  const nets = info.NetworkSettings.Networks as Record<string, { IPAddress: string }>;
  const ip = network ? nets[network]?.IPAddress : Object.values(nets)[0]?.IPAddress;
  if (!ip) throw new Error(`container ${container} has no address on ${network ?? 'any network'}`);
  return ip;
}

/** `ip -4 -o addr` inside a container, as interface → address/prefix. */
export function parseIpv4Addrs(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const r = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet (\S+)/.exec(line);
    if (r) m.set(r[1]!, r[2]!);
  }
  return m;
}

// A UDP echo server for the image (busybox 1.35's nc has no -u): answers each datagram with
// "echo:" and the datagram, so a test sees both directions of a published udp port work.
const UDP_ECHO_C = `#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[1]));
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
  for (;;) {
    char buf[1500], out[1600];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n < 0) continue;
    memcpy(out, "echo:", 5);
    memcpy(out + 5, buf, n);
    sendto(s, out, n + 5, 0, (struct sockaddr *)&from, len);
  }
}
`;

let udpEcho: Promise<string> | undefined;

/** Path of the static UDP echo server (compiled once per source into the OS temp dir). */
export function compiledUdpEcho(): Promise<string> {
  udpEcho ??= (async () => {
    const hash = createHash('sha256').update(UDP_ECHO_C).digest('hex').slice(0, 16);
    const out = join(tmpdir(), `berth-udpecho-${hash}`);
    if (existsSync(out)) return out;
    const src = `${out}.${process.pid}.c`;
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(src, UDP_ECHO_C);
    try {
      execFileSync('gcc', ['-static', '-O2', '-o', tmp, src], { stdio: 'pipe' });
      renameSync(tmp, out);
    } finally {
      rmSync(src, { force: true });
      rmSync(tmp, { force: true });
    }
    return out;
  })();
  return udpEcho;
}

/** Sends `message` to host:port over UDP and resolves with the first reply (or rejects after timeoutMs). */
export function udpRoundTrip(host: string, port: number, message: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP reply from ${host}:${port}`));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString());
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      s.close();
      reject(err);
    });
    s.send(message, port, host);
  });
}
