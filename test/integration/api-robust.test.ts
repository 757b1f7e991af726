// Robustness of `berth system service` with the real runtime: 50 concurrent clients, clients
// that leave in the middle of `logs -f`, attach and pull, a `kill -9` of the service while
// requests are in flight, and many `docker run --rm` through the socket. Each case then checks
// what would leak: the service's fds and child processes, leases and ingest locks, mounts under
// the test root, network namespace files and cgroups, and that the CLI sees a consistent state.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { makeBusyboxLayout } from '../helpers/images.js';
import { skipUnless } from '../helpers/prereq.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon', 'docker-registry', 'skopeo']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-robust-it-'));
const b = new Berth();
const IMG = 'local/bb:apirobust';
const api = new ApiService(b, work);
const { sock } = api;
let reg: TestRegistry | undefined;
/** A request that never gets its answer (a wait for an exit nobody records) fails the test, not the run. */
const LIMIT = 5 * 60_000;

interface Answer {
  status: number;
  body: string;
}

/** One request on its own connection (no keep-alive agent: each call is a separate client). */
function call(method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = data
      ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }
      : {};
    const req = request({ socketPath: sock, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function callOk(method: string, path: string, body?: unknown): Promise<Answer> {
  const r = await call(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}\nservice: ${api.log}`);
  return r;
}

/** The service's open fds, as link targets. */
function fds(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  return readdirSync(dir).map((f) => {
    try {
      return readlinkSync(join(dir, f));
    } catch {
      return '';
    }
  });
}

/** Processes whose parent is `pid`. */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir));

async function berthIds(): Promise<string[]> {
  return (await b.ok(['ps', '-aq', '--no-trunc'])).trim().split('\n').filter(Boolean);
}

/** No container is left, and nothing it had: mounts, netns files, runtime state. */
async function assertNothingLeft(ids: string[]): Promise<void> {
  await waitFor(async () => (await berthIds()).length === 0, { what: 'no containers left' });
  await waitFor(() => mountsUnder(b.dir).length === 0, {
    what: `no mounts under ${b.dir}: ${mountsUnder(b.dir).join('\n')}`,
  });
  await waitFor(() => list(join(b.runroot, 'netns')).length === 0, {
    what: `no netns files: ${list(join(b.runroot, 'netns'))}`,
  });
  const cgroups = list('/sys/fs/cgroup').flatMap((c) =>
    ids.map((id) => join('/sys/fs/cgroup', c, 'berth', id)).filter((p) => existsSync(p)),
  );
  assert.deepEqual(cgroups, [], 'no cgroup of a removed container is left');
  // a removal finishing in another berth (an rm -f racing a dying conmon) may take a moment
  await waitFor(() => list(join(b.root, 'containers')).length === 0, {
    what: `no container dir left: ${list(join(b.root, 'containers'))
      .map((d) => `${d} [${list(join(b.root, 'containers', d)).join(' ')}]`)
      .join(', ')}`,
  });
}

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  reg = await startRegistry({ auth: 'none' });
  const bb = await makeBusyboxLayout(join(work, 'bb'), { tag: 'latest' });
  await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/bb:latest`);
  await api.start();
});

after(async () => {
  await api.stop();
  await reg?.stop();
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('berth system service under stress', { skip }, () => {
  test('50 concurrent clients run containers while others list and ping; the CLI agrees', {
    timeout: LIMIT,
  }, async () => {
    const runOne = async (i: number) => {
      const created = await callOk('POST', `/v1.45/containers/create?name=conc${i}`, {
        Image: IMG,
        Cmd: ['sh', '-c', `exit ${i % 3}`],
        HostConfig: { NetworkMode: 'none' },
      });
      const id = (JSON.parse(created.body) as { Id: string }).Id;
      // as the docker CLI does: wait first, then start
      const waited = callOk('POST', `/v1.45/containers/${id}/wait?condition=next-exit`);
      await callOk('POST', `/v1.45/containers/${id}/start`);
      const code = (JSON.parse((await waited).body) as { StatusCode: number }).StatusCode;
      await callOk('DELETE', `/v1.45/containers/${id}?force=1`);
      return { id, code };
    };
    const others = Array.from({ length: 50 }, async (_, i) => {
      if (i % 2) return (await callOk('GET', '/_ping')).body === 'OK';
      return Array.isArray(JSON.parse((await callOk('GET', '/v1.45/containers/json?all=1')).body));
    });
    const runs = await Promise.all(Array.from({ length: 50 }, (_, i) => runOne(i)));
    assert.deepEqual(await Promise.all(others), Array(50).fill(true));
    assert.deepEqual(
      runs.map((r) => r.code),
      runs.map((_, i) => i % 3),
    );
    assert.equal(new Set(runs.map((r) => r.id)).size, 50);
    await assertNothingLeft(runs.map((r) => r.id));
    assert.equal((await b.ok(['ps', '-a', '--format', '{{.Names}}'])).trim(), '');
  });

  test('clients that leave in the middle of logs -f, attach and pull leak nothing', {
    timeout: LIMIT,
  }, async () => {
    const pid = api.pid!;
    const name = 'chatty';
    await b.ok(['run', '-d', '--name', name, IMG, 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']);

    const followLogs = async () => {
      const res = await get(`/v1.45/containers/${name}/logs?follow=1&stdout=1&tail=1`);
      await new Promise((resolve) => res.once('data', resolve));
      res.destroy();
    };
    const attach = async (container: string, stdin: boolean) => {
      const s = await upgrade(
        `/v1.45/containers/${container}/attach?stream=1&stdout=1&stderr=1${stdin ? '&stdin=1' : ''}`,
      );
      // proof the session is live: the chatty container's output arrives through it
      if (container === name) await new Promise((resolve) => s.once('data', resolve));
      s.destroy();
    };
    // the pull is held half-way through a layer by a proxy, so the client leaves mid-download
    const proxy = await throttlingProxy(reg!.url);
    const pull = async () => {
      const res = await get(`/v1.45/images/create?fromImage=${proxy.host}/bb&tag=latest`, 'POST');
      assert.equal(res.statusCode, 200);
      await waitFor(() => proxy.held.size > 0, { what: 'the proxy to hold a blob download' });
      res.destroy();
      // the service gives the download up: the proxy's held response is closed
      await waitFor(() => proxy.held.size === 0, { what: 'the service to drop the blob download' });
    };
    let n = 0;
    const round = async () => {
      await followLogs();
      await attach(name, false);
      await attach(name, true);
      // silent ones (running, and not started yet): the docker CLI half-closes an attach
      // without stdin, so a close is no proof the client left; they go with their container
      const quiet = `quiet${n}`;
      const idle = `idle${n++}`;
      await b.ok(['run', '-d', '--name', quiet, IMG, 'sleep', '300']);
      await b.ok(['create', '--name', idle, IMG, 'sleep', '300']);
      await attach(quiet, false);
      await attach(idle, false);
      await callOk('DELETE', `/v1.45/containers/${quiet}?force=1`);
      await callOk('DELETE', `/v1.45/containers/${idle}?force=1`);
      await pull();
    };
    try {
      // the first round opens what the service keeps for good (the store, the events watch)
      await round();
      const settled = () => !fds(pid).some((l) => l.endsWith('ctr.log') || l.endsWith('attach'));
      await waitFor(settled, { what: 'the first round to close its files' });
      const idle = fds(pid).length;
      for (let i = 0; i < 3; i++) await round();
      await waitFor(() => settled() && fds(pid).length <= idle, {
        what: `the service's fds back to ${idle} (now ${fds(pid).join(' ')})`,
      });
      assert.deepEqual(children(pid), [], 'no child process is left');
      assert.deepEqual(list(join(b.root, 'leases')), [], 'no lease is left');
      // an interrupted download stays as ingest/<hex>.partial for a resume, by design; the
      // service must not keep it (or its lock) open
      assert.deepEqual(
        fds(pid).filter((l) => l.includes(join(b.root, 'ingest'))),
        [],
        'no ingest file is held open',
      );
      assert.deepEqual(
        list(join(b.root, 'tmp')).filter((f) => f.includes(`-${pid}-`)),
        [],
        'no temp dir of the service is left',
      );
      assert.equal(await api.ping(), 'OK');
    } finally {
      await proxy.close();
      await b.run(['rm', '-f', name]);
    }
  });

  test('a kill -9 of the service mid-requests leaves a state the CLI can inspect and clean', {
    timeout: LIMIT,
  }, async () => {
    let started = 0;
    let stop = false;
    const lane = async (lane: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const c = await call('POST', `/v1.45/containers/create?name=k${lane}-${i}`, {
            Image: IMG,
            Cmd: ['sleep', '30'],
          });
          const id = (JSON.parse(c.body) as { Id: string }).Id;
          await call('POST', `/v1.45/containers/${id}/start`);
          started++;
          if (i % 2) await call('DELETE', `/v1.45/containers/${id}?force=1`);
        } catch {
          return; // the service is gone
        }
      }
    };
    const lanes = Array.from({ length: 8 }, (_, i) => lane(i));
    // in the middle: several containers started, and more requests of every kind under way
    await waitFor(() => started >= 6, { what: 'six containers started through the API' });
    process.kill(api.pid!, 'SIGKILL');
    stop = true;
    await api.stop();
    await Promise.all(lanes);

    const ids = await berthIds();
    assert.ok(ids.length > 0);
    for (const id of ids) {
      const state = (await b.ok(['inspect', '-f', '{{.State.Status}}', id])).trim();
      assert.match(state, /^(created|running|exited)$/, `container ${id} is ${state}`);
    }
    await b.ok(['rm', '-f', ...ids]);
    await assertNothingLeft(ids);
    // a new service starts on the same path, over the dead one's socket file
    assert.ok(existsSync(sock), 'the killed service left its socket file');
    await api.start();
    assert.equal(await api.ping(), 'OK');
    assert.equal((await callOk('GET', '/v1.45/containers/json?all=1')).body.trim(), '[]');
  });

  test('30 docker run --rm through the socket leave no mounts, netns files or cgroups', {
    timeout: LIMIT,
  }, async () => {
    // the kill -9 case restarts the service at its end; if it failed before that, start it here
    if ((await api.ping().catch(() => '')) !== 'OK') await api.start();
    const client = DOCKER_CLIENTS[0]!;
    const ids: string[] = [];
    const lane = async (lane: number) => {
      for (let i = 0; i < 10; i++) {
        const cid = join(work, `cid-${lane}-${i}`);
        const r = await api.docker(client, ['run', '--rm', '--cidfile', cid, IMG, 'sh', '-c', 'echo hi']);
        assert.equal(r.code, 0, `${r.stderr}\nservice: ${api.log}`);
        assert.equal(r.stdout, 'hi\n');
        ids.push(readFileSync(cid, 'utf8').trim());
      }
    };
    await Promise.all([0, 1, 2].map(lane));
    assert.equal(ids.length, 30);
    await assertNothingLeft(ids);
  });
});

/** A request whose response streams; resolves at the headers. */
function get(path: string, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path, method, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** An attach as the docker CLI makes it: POST with Upgrade, resolved at `101 UPGRADED`. */
function upgrade(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath: sock,
      path,
      method: 'POST',
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    req.on('upgrade', (_res, socket: Socket) => resolve(socket));
    req.on('response', (res) => reject(new Error(`attach answered ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * An HTTP proxy to the registry that sends the first 4 KiB of every blob and then holds the
 * response open; `held` is the set of responses it holds, each removed when the client closes it.
 */
async function throttlingProxy(upstream: string) {
  const held = new Set<object>();
  const server: Server = createServer((req, res) => {
    const up = request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (
        !req.url?.includes('/blobs/') ||
        req.method !== 'GET' ||
        (ur.statusCode !== 200 && ur.statusCode !== 206)
      ) {
        ur.pipe(res);
        return;
      }
      let sent = 0;
      ur.on('data', (d: Buffer) => {
        if (sent >= 4096) return;
        res.write(d.subarray(0, 4096 - sent));
        sent += Math.min(d.length, 4096 - sent);
        if (sent >= 4096) {
          ur.pause();
          held.add(res);
          res.on('close', () => {
            held.delete(res);
            ur.destroy();
          });
        }
      });
      ur.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    held,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
