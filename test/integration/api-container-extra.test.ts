// The container extras of `berth system service` through the real docker CLI (both clients on
// this machine): `docker top`, `docker diff`, `docker export -o`, `docker stats --no-stream`,
// `docker cp` both ways and of a missing path, and a hostile tar PUT to the archive endpoint.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-extra-it-'));
const b = new Berth();
const IMG = 'local/bb:apiextra';
const api = new ApiService(b, work);
const { sock } = api;

function call(method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'Content-Length': String(body.length) } : {};
    const req = request({ socketPath: sock, path, method, headers }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A one-file tar whose entry name is given as is (no checks: it is the hostile input). */
function tarOf(name: string, data: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
  );
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\x0000', 257);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  body.write(data);
  return Buffer.concat([h, body, Buffer.alloc(1024)]);
}

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  await api.start();
});

after(async () => {
  await api.stop();
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('docker top, diff, export, stats and cp against berth system service', { skip }, () => {
  test('a tar with a ../ entry PUT to the archive endpoint does not land outside the container', async () => {
    const name = 'hostile';
    await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
    const marker = `escape-${process.pid}`;
    const r = await call(
      'PUT',
      `/v1.45/containers/${name}/archive?path=/tmp`,
      tarOf(`../../../../../../../../tmp/${marker}`, 'x'),
    );
    assert.equal(existsSync(join('/tmp', marker)), false, `${r.status} ${r.text}`);
    if (r.status === 200) {
      // contained: clamped into the container's root
      const ls = await b.run(['exec', name, 'ls', '/tmp']);
      assert.match(ls.stdout, new RegExp(marker));
    } else assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
    await b.ok(['rm', '-f', name]);
  });

  test('a PUT with a Content-Length over 1 MiB (a client sending a whole buffer) is taken in', async () => {
    const name = 'bigput';
    await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
    const data = 'y'.repeat(2 * 1024 * 1024);
    const r = await call('PUT', `/v1.45/containers/${name}/archive?path=/tmp`, tarOf('big.txt', data));
    assert.equal(r.status, 200, r.text);
    assert.equal(
      (await b.ok(['exec', name, 'wc', '-c', '/tmp/big.txt'])).trim(),
      `${data.length} /tmp/big.txt`,
    );
    await b.ok(['rm', '-f', name]);
  });

  test('HEAD of the archive endpoint answers the stat header alone; GET streams the tar', async () => {
    const name = 'headstat';
    await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
    const headers = await new Promise<IncomingMessage['headers']>((resolve, reject) => {
      const req = request(
        { socketPath: sock, path: `/containers/${name}/archive?path=/etc`, method: 'HEAD' },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        },
      );
      req.on('error', reject);
      req.end();
    });
    const stat = JSON.parse(
      Buffer.from(String(headers['x-docker-container-path-stat']), 'base64').toString(),
    );
    assert.equal(stat.name, 'etc');
    assert.ok((stat.mode & 0x80000000) !== 0, 'a directory');
    const got = await call('GET', `/containers/${name}/archive?path=/etc/passwd`);
    assert.equal(got.status, 200);
    assert.match(got.text, /root:x:0:0/);
    await b.ok(['rm', '-f', name]);
  });

  test('stats with stream=true: one JSON line a second until the client leaves', async () => {
    const name = 'statstream';
    await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ socketPath: sock, path: `/v1.45/containers/${name}/stats?stream=1` }, resolve);
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 200);
    let text = '';
    await new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        text += d.toString();
        if (text.split('\n').length > 2) {
          res.off('data', onData);
          resolve();
        }
      };
      res.on('data', onData);
    });
    res.destroy();
    const [first, second] = text.split('\n').map((l) => (l ? JSON.parse(l) : undefined));
    assert.equal(first.id.length, 64);
    assert.equal(first.name, `/${name}`);
    assert.ok(first.memory_stats.usage > 0);
    assert.ok(first.pids_stats.current >= 1);
    assert.ok(Date.parse(second.read) >= Date.parse(first.read));
    assert.equal((await call('GET', '/_ping')).text, 'OK');
    await b.ok(['rm', '-f', name]);
  });

  DOCKER_CLIENTS.forEach((client, i) => {
    describe(client, () => {
      test('docker top, docker diff, docker export -o, docker stats --no-stream', async () => {
        const name = `extra${i}`;
        await b.ok(['run', '-d', '--name', name, IMG, 'sh', '-c', 'touch /added; rm /bin/cat; sleep 300']);
        const top = await api.dockerOk(client, ['top', name]);
        assert.match(top.stdout, /PID/);
        assert.match(top.stdout, /sleep 300/);
        await waitFor(async () => /A \/added/.test((await api.dockerOk(client, ['diff', name])).stdout), {
          what: 'docker diff to show /added',
        });
        const diff = (await api.dockerOk(client, ['diff', name])).stdout;
        assert.match(diff, /^D \/bin\/cat$/m);
        const out = join(work, `export${i}.tar`);
        await api.dockerOk(client, ['export', '-o', out, name]);
        assert.ok(statSync(out).size > 1024);
        assert.ok(readFileSync(out).includes(Buffer.from('added')));
        const stats = await api.dockerOk(client, ['stats', '--no-stream', name]);
        assert.equal(stats.stderr, '');
        const lines = stats.stdout.trim().split('\n');
        assert.equal(lines.length, 2, stats.stdout);
        assert.match(lines[1]!, new RegExp(`${name}\\s+\\d+\\.\\d+%`));
        await b.ok(['rm', '-f', name]);
      });

      test('docker cp host→container, container→host, and of a missing path', async () => {
        const name = `cp${i}`;
        await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
        const src = join(work, `in${i}.txt`);
        writeFileSync(src, `hello ${i}\n`);
        await api.dockerOk(client, ['cp', src, `${name}:/tmp/in.txt`]);
        assert.equal(await b.ok(['exec', name, 'cat', '/tmp/in.txt']), `hello ${i}\n`);
        const dir = join(work, `out${i}`);
        mkdirSync(dir);
        await api.dockerOk(client, ['cp', `${name}:/tmp/in.txt`, join(dir, 'back.txt')]);
        assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'), `hello ${i}\n`);
        await api.dockerOk(client, ['cp', `${name}:/etc`, join(dir, 'etc')]);
        assert.ok(statSync(join(dir, 'etc')).isDirectory());
        // Larger than any one chunk: the tar streams out after its first header (no whole-tar buffer).
        const big = randomBytes(6 * 1024 * 1024 + 123);
        writeFileSync(join(work, `big${i}`), big);
        await api.dockerOk(client, ['cp', join(work, `big${i}`), `${name}:/tmp/big`]);
        await api.dockerOk(client, ['cp', `${name}:/tmp/big`, join(dir, 'big')]);
        assert.ok(readFileSync(join(dir, 'big')).equals(big), 'the big file came back byte for byte');
        const miss = await api.docker(client, ['cp', `${name}:/no/such/file`, dir]);
        assert.notEqual(miss.code, 0);
        assert.match(miss.stderr, /no\/such\/file/);
        await b.ok(['rm', '-f', name]);
      });
    });
  });
});
