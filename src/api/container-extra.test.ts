// The container extras' Docker shapes (stats, the archive path stat read from a tar) and the
// refusals they make before anything streams, over a real Engine on a temporary root. The
// endpoints on a running container are tested with the docker CLI
// (test/integration/api-container-extra.test.ts).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { apiUnderTest } from '../../test/helpers/api-unit.js';
import { dockerStats, statFromTar } from './_routes-container-extra.js';

const api = apiUnderTest('berth-api-extra-');
const { sock } = api;

function call(method: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path, method }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', reject);
    req.end();
  });
}

function header(name: string, type: string, size: number, mode: number, link = ''): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0);
  b.write(`${mode.toString(8).padStart(7, '0')}\0`, 100);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136);
  b.write(type, 156);
  b.write(link, 157);
  return b;
}

describe('statFromTar', () => {
  test('a file: its base name, size, permission bits and time', () => {
    const s = statFromTar(Buffer.concat([header('hosts', '0', 12, 0o644), Buffer.alloc(512)]), '/etc/hosts');
    assert.deepEqual(s, {
      name: 'hosts',
      size: 12,
      mode: 0o644,
      mtime: new Date(1_700_000_000_000).toISOString(),
      linkTarget: '',
    });
  });

  test('a directory and a symlink carry Go’s mode bits; a pax header is skipped', () => {
    assert.equal(statFromTar(header('etc/', '5', 0, 0o755), '/etc/')!.mode, (0x80000000 | 0o755) >>> 0);
    const pax = Buffer.alloc(512);
    pax.write('19 linkpath=/a/b/c\n');
    const link = statFromTar(
      Buffer.concat([header('PaxHeader', 'x', 19, 0o644), pax, header('l', '2', 0, 0o777, 'x')]),
      '/l',
    )!;
    assert.equal(link.mode, (0x08000000 | 0o777) >>> 0);
    assert.equal(link.linkTarget, '/a/b/c');
  });

  test('an empty archive is refused', () => {
    assert.throws(() => statFromTar(Buffer.alloc(0), '/x'), /empty archive/);
  });

  test('partial: a first entry not yet whole asks for more instead of failing', () => {
    const pax = Buffer.alloc(512);
    pax.write('19 linkpath=/a/b/c\n');
    const whole = Buffer.concat([header('PaxHeader', 'x', 19, 0o644), pax, header('l', '2', 0, 0o777, 'x')]);
    for (const cut of [0, 100, 512, 700, 1024, 1500]) {
      assert.equal(statFromTar(whole.subarray(0, cut), '/l', true), undefined, `cut at ${cut}`);
    }
    assert.equal(statFromTar(whole, '/l', true)!.linkTarget, '/a/b/c');
  });
});

describe('dockerStats', () => {
  test('the CLI’s CPU formula gives back the engine’s percentage', () => {
    const s = dockerStats(
      {
        id: 'abc',
        name: 'web',
        cpuPercent: 150,
        memoryUsage: 10,
        memoryLimit: 100,
        memoryPercent: 10,
        netRx: 1,
        netTx: 2,
        blockRead: 3,
        blockWrite: 4,
        pids: 5,
      },
      new Date(2000),
      new Date(1000),
    ) as {
      name: string;
      cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
      precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number };
      memory_stats: unknown;
      pids_stats: unknown;
    };
    const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
    const sysDelta = s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage;
    assert.equal((cpuDelta / sysDelta) * s.cpu_stats.online_cpus * 100, 150);
    assert.equal(s.name, '/web');
    assert.deepEqual(s.memory_stats, { usage: 10, limit: 100 });
    assert.deepEqual(s.pids_stats, { current: 5 });
  });
});

describe('refusals', () => {
  for (const [method, path] of [
    ['GET', '/v1.45/containers/nope/top'],
    ['GET', '/v1.45/containers/nope/changes'],
    ['GET', '/v1.45/containers/nope/export'],
    ['GET', '/v1.45/containers/nope/stats?stream=false'],
    ['GET', '/v1.45/containers/nope/archive?path=/etc'],
    ['HEAD', '/v1.45/containers/nope/archive?path=/etc'],
  ] as const) {
    test(`${method} ${path}: an unknown container is a 404`, async () => {
      const r = await call(method, path);
      assert.equal(r.status, 404, r.text);
    });
  }

  test('archive without a path is a 400', async () => {
    const r = await call('GET', '/v1.45/containers/nope/archive');
    assert.equal(r.status, 400);
    assert.match(r.text, /path is required/);
  });
});
