// The API server on a temporary socket over a real Engine on a temporary root: routing, the
// version prefix, error shapes and codes, body limits, and the socket's life cycle.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { apiUnderTest } from '../../test/helpers/api-unit.js';
import { API_VERSION, MIN_API_VERSION, serveApi } from './index.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

function call(
  socketPath: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...(body !== undefined && !headers['Transfer-Encoding']
            ? { 'Content-Length': Buffer.byteLength(body) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    // the server may answer (413) and close before the whole body is written
    req.on('error', (err) =>
      errnoOf(err) === 'EPIPE' || errnoOf(err) === 'ECONNRESET' ? undefined : reject(err),
    );
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

function errnoOf(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

const api = apiUnderTest('berth-api-');
const { dir, sock } = api;
const get = (path: string) => call(sock, 'GET', path);

describe('system endpoints', () => {
  test('/_ping answers OK with the negotiation headers, for GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      const r = await call(sock, method, '/_ping');
      assert.equal(r.status, 200);
      assert.equal(r.text, method === 'GET' ? 'OK' : '');
      assert.equal(r.headers['api-version'], API_VERSION);
      assert.equal(r.headers['builder-version'], '1');
      assert.match(String(r.headers['cache-control']), /no-cache/);
      assert.equal(r.headers.pragma, 'no-cache');
      assert.equal(r.headers.swarm, 'inactive');
      assert.equal(r.headers.ostype, 'linux');
      assert.equal(r.headers.server, 'Berth/9.9.9 (linux)');
    }
  });

  test('/version reports the API range, with and without a version prefix', async () => {
    for (const path of ['/version', '/v1.41/version', '/v1.45/version']) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      const v = r.json as { ApiVersion: string; MinAPIVersion: string; Version: string; Os: string };
      assert.equal(v.ApiVersion, '1.45');
      assert.equal(v.MinAPIVersion, MIN_API_VERSION);
      assert.equal(v.Version, '9.9.9');
      assert.equal(v.Os, 'linux');
    }
  });

  test('a version outside 1.41–1.45 is a 400 with docker’s message', async () => {
    const old = await get('/v1.40/version');
    assert.equal(old.status, 400);
    assert.match((old.json as { message: string }).message, /client version 1\.40 is too old/);
    const fresh = await get('/v1.46/containers/json');
    assert.equal(fresh.status, 400);
    assert.match((fresh.json as { message: string }).message, /client version 1\.46 is too new/);
  });

  test('/info counts containers and images in docker’s shape', async () => {
    const r = await get('/info');
    assert.equal(r.status, 200);
    const i = r.json as Record<string, unknown>;
    assert.equal(i.Containers, 0);
    assert.equal(i.ContainersRunning, 0);
    assert.equal(i.Images, 0);
    assert.equal(i.Driver, 'overlay');
    assert.equal(i.CgroupDriver, 'cgroupfs');
    assert.equal(i.ServerVersion, '9.9.9');
    assert.equal(typeof i.NCPU, 'number');
    assert.equal(typeof i.Runtimes, 'object');
  });

  test('an unknown path is a 404 and a known path with the wrong method a 405, both as JSON', async () => {
    const r = await get('/nothing/here');
    assert.equal(r.status, 404);
    assert.equal(typeof (r.json as { message: string }).message, 'string');
    const m = await call(sock, 'DELETE', '/version');
    assert.equal(m.status, 405);
  });
});

describe('errors and hostile input', () => {
  test('a missing container is a 404 with only a message', async () => {
    const r = await get('/v1.45/containers/nope/json');
    assert.equal(r.status, 404);
    assert.deepEqual(Object.keys(r.json as object), ['message']);
    assert.doesNotMatch(r.text, /\n\s+at /);
  });

  test('filters: docker’s list and map forms are taken; malformed or unknown ones are a 400', async () => {
    const list = await get(`/containers/json?all=1&filters=${encodeURIComponent('{"status":["running"]}')}`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json, []);
    const map = await get(`/containers/json?filters=${encodeURIComponent('{"status":{"exited":true}}')}`);
    assert.equal(map.status, 200);
    for (const bad of [
      '{not json',
      '["a"]',
      '{"status":[1]}',
      '{"bogus":["x"]}',
      '{"status":["nonsense"]}',
    ]) {
      const r = await get(`/containers/json?filters=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, bad);
      assert.equal(typeof (r.json as { message: string }).message, 'string');
    }
  });

  test('unknown query parameters are ignored, as dockerd does; bad booleans and integers are a 400', async () => {
    // dockerode sends a create body's fields in the query too
    assert.equal((await get('/containers/json?bogus=1&Image=x')).status, 200);
    assert.equal((await get('/containers/json?all=maybe')).status, 400);
    assert.equal((await get('/containers/json?limit=x')).status, 400);
  });

  test('malformed JSON, a non-object body and unknown fields are a 400', async () => {
    for (const body of ['{"Name": ', '[1,2]', '"x"', '{"Name":"v","Bogus":1}', '{"Name":5}']) {
      const r = await call(sock, 'POST', '/volumes/create', body);
      assert.equal(r.status, 400, body);
      assert.equal(typeof (r.json as { message: string }).message, 'string');
    }
  });

  test('a body over 1 MiB is a 413, declared or not', async () => {
    const huge = `{"Name":"${'a'.repeat(2 * 1024 * 1024)}"}`;
    const declared = await call(sock, 'POST', '/volumes/create', huge);
    assert.equal(declared.status, 413);
    const chunked = await call(sock, 'POST', '/networks/create', huge, {
      'Transfer-Encoding': 'chunked',
    });
    assert.equal(chunked.status, 413, chunked.text);
    const unread = await call(sock, 'POST', '/containers/x/start', huge);
    assert.equal(unread.status, 413);
    // the server still answers afterwards
    assert.equal((await get('/_ping')).status, 200);
  });

  test('path traversal in a name is refused or not found, never served', async () => {
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '..', '%2E%2E', 'a%00b']) {
      for (const path of [
        `/volumes/${name}`,
        `/containers/${name}/json`,
        `/networks/${name}`,
        `/images/${name}/json`,
      ]) {
        const r = await get(path);
        assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status} ${r.text}`);
      }
      const del = await call(sock, 'DELETE', `/volumes/${name}`);
      assert.ok(del.status === 400 || del.status === 404, `DELETE ${name}: ${del.status} ${del.text}`);
    }
  });

  test('a malformed percent-encoding in a path is a 400', async () => {
    const r = await get('/containers/%E0%A4%A/json');
    assert.equal(r.status, 400);
    assert.match((r.json as { message: string }).message, /invalid path parameter/);
  });

  test('a bad wait condition is a 400; a wait on a missing container a 404', async () => {
    assert.equal((await call(sock, 'POST', '/containers/x/wait?condition=whenever')).status, 400);
    assert.equal((await call(sock, 'POST', '/containers/x/wait')).status, 404);
  });
});

describe('volumes, images and networks', () => {
  test('volume create, list, inspect and remove', async () => {
    const c = await call(
      sock,
      'POST',
      '/v1.43/volumes/create',
      JSON.stringify({ Name: 'apivol', Labels: { a: 'b' } }),
    );
    assert.equal(c.status, 201);
    assert.equal((c.json as { Name: string }).Name, 'apivol');
    const l = await get(`/volumes?filters=${encodeURIComponent('{"label":["a=b"]}')}`);
    assert.deepEqual(
      (l.json as { Volumes: { Name: string }[] }).Volumes.map((v) => v.Name),
      ['apivol'],
    );
    const i = await get('/volumes/apivol');
    assert.deepEqual((i.json as { Labels: object }).Labels, { a: 'b' });
    assert.equal((await call(sock, 'DELETE', '/volumes/apivol')).status, 204);
    assert.equal((await get('/volumes/apivol')).status, 404);
    assert.equal((await call(sock, 'DELETE', '/volumes/apivol')).status, 404);
  });

  test('volume prune answers docker’s report', async () => {
    const r = await call(sock, 'POST', '/volumes/prune');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { VolumesDeleted: [], SpaceReclaimed: 0 });
  });

  test('image list is empty, a missing image is a 404 to inspect and to remove', async () => {
    const l = await get('/images/json?all=0&digests=1');
    assert.equal(l.status, 200);
    assert.deepEqual(l.json, []);
    assert.equal((await get('/images/docker.io/library/nothing:1/json')).status, 404);
    assert.equal((await call(sock, 'DELETE', '/images/nothing:1')).status, 404);
  });

  test('network create refuses bad bodies before anything is made', async () => {
    assert.equal((await call(sock, 'POST', '/networks/create', '{}')).status, 400);
    assert.equal(
      (await call(sock, 'POST', '/networks/create', '{"Name":"n","IPAM":{"Config":"x"}}')).status,
      400,
    );
    assert.equal((await call(sock, 'POST', '/networks/create', '{"Name":"n","Ingress":true}')).status, 400);
    assert.equal((await get('/networks/nonexistent')).status, 404);
  });
});

describe('the socket', () => {
  test('is created with mode 0660', () => {
    assert.equal(statSync(sock).mode & 0o777, 0o660);
  });

  test('--group sets the socket’s group', async () => {
    const grouped = join(dir, 'grouped.sock');
    const s = await serveApi(api.engine, { socket: grouped, serverVersion: 'x', group: 4242 });
    try {
      assert.equal(statSync(grouped).gid, 4242);
    } finally {
      await s.close();
    }
  });

  test('a second server on a live socket is refused', async () => {
    await assert.rejects(serveApi(api.engine, { socket: sock, serverVersion: 'x' }), /already listening/);
    assert.equal((await get('/_ping')).status, 200);
  });

  test('a stale socket file is replaced; a regular file is not', async () => {
    const stale = join(dir, 'stale.sock');
    // a server killed with SIGKILL leaves its socket file behind
    spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.ok(statSync(stale).isSocket());
    const other = await serveApi(api.engine, { socket: stale, serverVersion: 'x' });
    assert.equal((await call(stale, 'GET', '/_ping')).text, 'OK');
    await other.close();
    assert.throws(() => statSync(stale), /ENOENT/);
    const plain = join(dir, 'plain-file');
    writeFileSync(plain, 'keep me');
    await assert.rejects(serveApi(api.engine, { socket: plain, serverVersion: 'x' }), /not a socket/);
  });

  test('the idle timeout closes the server and removes the socket', async () => {
    const idle = join(dir, 'idle.sock');
    const s = await serveApi(api.engine, { socket: idle, serverVersion: 'x', idleTimeout: 1 });
    assert.equal((await call(idle, 'GET', '/_ping')).status, 200);
    await s.closed;
    assert.throws(() => statSync(idle), /ENOENT/);
  });
});
