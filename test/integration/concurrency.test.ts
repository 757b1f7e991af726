// Two berth processes pulling and removing the same image at once never corrupt the store, and
// a pull killed mid-download resumes with a range request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BERTH_BIN, Berth } from '../helpers/berth.js';
import { makeBusyboxLayout } from '../helpers/images.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

const work = mkdtempSync(join(tmpdir(), 'berth-conc-it-'));
let reg: TestRegistry;

before(async () => {
  reg = await startRegistry({ auth: 'none' });
  const bb = await makeBusyboxLayout(join(work, 'bb'), { tag: 'latest', compression: 'none' });
  await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/bb:latest`);
});
after(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Each image's layers exist on disk; no staging leftovers of dead processes. */
async function assertConsistent(b: Berth) {
  const images = (await b.ok(['images', '--format', 'json']))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  for (const img of images) {
    const [info] = JSON.parse(await b.ok(['image', 'inspect', img.ID]));
    for (const dir of [
      info.GraphDriver.Data.UpperDir,
      ...info.GraphDriver.Data.LowerDir.split(':').filter(Boolean),
    ]) {
      assert.ok(existsSync(dir), `layer dir ${dir} exists`);
    }
  }
  return images;
}

describe('concurrent berth processes', () => {
  const b = new Berth();
  after(() => b.cleanup());

  test('three parallel pulls of the same image all succeed and leave one copy', async () => {
    const results = await Promise.all([1, 2, 3].map(() => b.run(['pull', '-q', `${reg.host}/bb:latest`])));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const images = await assertConsistent(b);
    assert.equal(images.length, 1);
    assert.equal(readdirSync(join(b.root, 'layers')).length, 1);
  });

  test('pull and rmi racing in a loop leave a consistent store', async () => {
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      ops.push(b.run(['pull', '-q', `${reg.host}/bb:latest`]));
      ops.push(b.run(['rmi', '-f', `${reg.host}/bb:latest`]));
    }
    await Promise.all(ops);
    await assertConsistent(b);
    // whatever won, one more pull and rmi must both work cleanly
    await b.ok(['pull', '-q', `${reg.host}/bb:latest`]);
    await assertConsistent(b);
    await b.ok(['rmi', `${reg.host}/bb:latest`]);
    assert.deepEqual(readdirSync(join(b.root, 'layers')), []);
  });
});

/** A TCP proxy to the registry that can slow the bytes coming back, and logs request heads. */
function startProxy(
  target: string,
): Promise<{ port: number; server: Server; requests: string[]; setDelay(ms: number): void }> {
  const [host, port] = target.split(':') as [string, string];
  const requests: string[] = [];
  let delayMs = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    client.on('data', (d) => {
      requests.push(d.toString('latin1'));
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (delayMs === 0) {
        client.write(d);
        return;
      }
      upstream.pause();
      // trickle in 4 KiB pieces
      (async () => {
        for (let i = 0; i < d.length; i += 4096) {
          if (client.destroyed) return;
          client.write(d.subarray(i, i + 4096));
          await sleep(delayMs);
        }
        upstream.resume();
      })();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : 0,
        server,
        requests,
        setDelay: (ms) => (delayMs = ms),
      });
    });
  });
}

function ingestBytes(root: string): number {
  const dir = join(root, 'ingest');
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    try {
      const st = statSync(p);
      if (st.isFile() && !f.endsWith('.lock')) n += st.size;
    } catch {
      // raced with a rename
    }
  }
  return n;
}

describe('interrupted pull', () => {
  const b = new Berth();
  after(() => b.cleanup());

  test('kill -9 mid-download leaves nothing visible, and the next pull resumes with a Range request', async () => {
    const proxy = await startProxy(reg.host);
    try {
      proxy.setDelay(20);
      const ref = `127.0.0.1:${proxy.port}/bb:latest`;
      const child = spawn(
        process.execPath,
        [BERTH_BIN, '--root', b.root, '--runroot', b.runroot, 'pull', '-q', ref],
        {
          stdio: 'ignore',
        },
      );
      const deadline = Date.now() + 60_000;
      while (ingestBytes(b.root) < 64 * 1024 && Date.now() < deadline) await sleep(50);
      const partial = ingestBytes(b.root);
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
      assert.ok(partial >= 64 * 1024, `a partial download was on disk (${partial} bytes)`);
      assert.equal((await b.ok(['images', '-q'])).trim(), '', 'nothing visible after the kill');
      proxy.setDelay(0);
      proxy.requests.length = 0;
      await b.ok(['pull', '-q', ref]);
      const ranged = proxy.requests.filter((r) => /^range: bytes=\d+-/im.test(r));
      assert.ok(
        ranged.length >= 1,
        `a Range request was sent:\n${proxy.requests.map((r) => r.split('\r\n')[0]).join('\n')}`,
      );
      await assertConsistent(b);
      assert.equal((await b.ok(['images', '-q'])).trim().split('\n').length, 1);
    } finally {
      proxy.server.close();
    }
  });
});
