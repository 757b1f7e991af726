// Attach and exec through HTTP upgrade with the real docker CLI (both clients on this machine)
// against `berth system service`: attached runs keep stdout and stderr apart and pass the exit
// code, `run -i` carries stdin to EOF, and `exec` returns output and exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
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

const work = mkdtempSync(join(tmpdir(), 'berth-api-attach-it-'));
const b = new Berth();
const IMG = 'local/bb:apiattach';
const api = new ApiService(b, work);

/** A plain (not upgraded) request over the socket: status and the whole body. */
function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: api.sock,
        path,
        method,
        headers: data
          ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }
          : {},
      },
      async (res) => {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Docker's 8-byte framed stream, split back into stdout and stderr. */
function demux(buf: Buffer): { out: string; err: string } {
  let out = '';
  let err = '';
  for (let off = 0; off + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(off + 4);
    const text = buf.subarray(off + 8, off + 8 + len).toString('utf8');
    if (buf[off] === 2) err += text;
    else out += text;
    off += 8 + len;
  }
  return { out, err };
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

describe('docker run (attached) and docker exec against berth system service', { skip }, () => {
  for (const client of DOCKER_CLIENTS) {
    describe(client, () => {
      test('run keeps stdout and stderr apart and exits with the container', async () => {
        const r = await api.docker(client, [
          'run',
          '--rm',
          IMG,
          'sh',
          '-c',
          'echo out; echo err >&2; exit 3',
        ]);
        assert.equal(r.code, 3, `${r.stderr}\nservice: ${api.log}`);
        assert.equal(r.stdout, 'out\n');
        assert.equal(r.stderr, 'err\n');
      });

      test('run -i carries stdin to EOF', async () => {
        const r = await api.docker(client, ['run', '-i', '--rm', IMG, 'cat'], 'hi\n');
        assert.equal(r.code, 0, `${r.stderr}\nservice: ${api.log}`);
        assert.equal(r.stdout, 'hi\n');
      });

      test('exec returns output and exit codes', async () => {
        const name = `ex-${DOCKER_CLIENTS.indexOf(client)}`;
        await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
        try {
          const hi = await api.docker(client, ['exec', name, 'echo', 'hi']);
          assert.equal(hi.code, 0, `${hi.stderr}\nservice: ${api.log}`);
          assert.equal(hi.stdout, 'hi\n');
          const five = await api.docker(client, ['exec', name, 'sh', '-c', 'exit 5']);
          assert.equal(five.code, 5, `${five.stderr}\nservice: ${api.log}`);
          const cat = await api.docker(client, ['exec', '-i', name, 'cat'], 'in\n');
          assert.equal(cat.code, 0, `${cat.stderr}\nservice: ${api.log}`);
          assert.equal(cat.stdout, 'in\n');
        } finally {
          await b.run(['rm', '-f', name]);
        }
      });
    });
  }
});

describe('exec and attach without an upgrade, detach keys', { skip }, () => {
  test('exec start with Detach runs in the background; without it the body is the framed output', async () => {
    const name = 'plain-exec';
    await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
    try {
      for (const client of DOCKER_CLIENTS) {
        await api.dockerOk(client, ['exec', '-d', name, 'sh', '-c', 'echo bg > /tmp/bg']);
        await waitFor(async () => (await b.run(['exec', name, 'cat', '/tmp/bg'])).stdout === 'bg\n', {
          what: `${client}: the detached exec to write its file`,
        });
        await b.ok(['exec', name, 'rm', '/tmp/bg']);
      }
      const created = await call('POST', `/containers/${name}/exec`, {
        Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'],
        AttachStdout: true,
        AttachStderr: false,
      });
      assert.equal(created.status, 201);
      const { Id } = JSON.parse(created.body.toString()) as { Id: string };
      const started = await call('POST', `/exec/${Id}/start`, { Detach: false, Tty: false });
      assert.equal(started.status, 200);
      assert.deepEqual(demux(started.body), { out: 'out\n', err: '' }, 'stderr was not asked for');
      const inspect = JSON.parse((await call('GET', `/exec/${Id}/json`)).body.toString());
      assert.equal(inspect.ExitCode, 4);
      assert.equal(inspect.Running, false);
    } finally {
      await b.run(['rm', '-f', name]);
    }
  });

  test('attach with logs=1&stream=0 replays the output so far, as frames', async () => {
    const name = 'plain-attach';
    await b.ok(['run', '-d', '--name', name, IMG, 'sh', '-c', 'echo one; echo two >&2; sleep 300']);
    try {
      await waitFor(async () => (await b.run(['logs', name])).stderr.includes('two'), { what: 'the logs' });
      const r = await call('POST', `/containers/${name}/attach?logs=1&stream=0&stdout=1&stderr=1`);
      assert.equal(r.status, 200);
      assert.deepEqual(demux(r.body), { out: 'one\n', err: 'two\n' });
    } finally {
      await b.run(['rm', '-f', name]);
    }
  });

  test('ctrl-p ctrl-q on a TTY attach detaches and leaves the container running', async () => {
    const name = 'detach-keys';
    await b.ok(['run', '-d', '-it', '--name', name, IMG, 'sh']);
    try {
      const c = createConnection(api.sock);
      let seen = '';
      c.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
      });
      const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
      c.write(
        `POST /containers/${name}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
      );
      await waitFor(() => seen.includes('101 UPGRADED'), { what: 'the upgrade' });
      c.write('echo mark$((6*7))\n');
      await waitFor(() => seen.includes('mark42'), { what: 'the shell to answer' });
      c.write(Buffer.from([0x10, 0x11]));
      await closed;
      const state = JSON.parse((await call('GET', `/containers/${name}/json`)).body.toString());
      assert.equal(state.State.Running, true, 'the container runs on after the detach');
    } finally {
      await b.run(['rm', '-f', name]);
    }
  });
});
