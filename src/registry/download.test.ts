// URL downloads (ADD <url>) against raw loopback servers that lie: a byte cap enforced while
// reading, no partial file left behind, and timeouts for peers that stall.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { IOError, NetworkError, NotFoundError, SizeLimitError } from '../errors/index.js';
import { RegistryClient } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'berth-download-unit-'));
const servers: Server[] = [];
const sockets = new Set<Socket>();
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(work, { recursive: true, force: true });
});

/** A loopback server that answers every connection with `respond` (raw bytes, no HTTP library). */
async function rawServer(respond: (socket: Socket) => void): Promise<string> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => respond(socket));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return `http://127.0.0.1:${addr.port}/file.bin`;
}

const client = new RegistryClient({ authFile: join(work, 'auth.json'), retryBaseMs: 1 });
after(() => client.close());

let n = 0;
function dest(): string {
  return join(work, `dl-${++n}`);
}

function nothingLeft(): void {
  assert.deepEqual(
    readdirSync(work).filter((f) => f.startsWith('dl-')),
    [],
    'a failed download leaves no file',
  );
}

describe('downloadToFile', () => {
  test('a well-behaved server: the file, its size and digest', async () => {
    const body = Buffer.alloc(5000, 'x');
    const url = await rawServer((s) => {
      s.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    });
    const file = dest();
    const r = await client.downloadToFile(url, file, { maxBytes: 10_000 });
    assert.equal(r.size, 5000);
    assert.equal(r.digest, `sha256:${createHash('sha256').update(body).digest('hex')}`);
    assert.deepEqual(readFileSync(file), body);
    rmSync(file);
  });

  test('a Content-Length over the cap is refused before reading', async () => {
    const url = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n');
      s.write(Buffer.alloc(1000, 'a'));
    });
    await assert.rejects(client.downloadToFile(url, dest(), { maxBytes: 4096 }), (err: Error) => {
      assert.ok(err instanceof SizeLimitError, String(err));
      assert.match(err.message, /1000000 bytes, over the 4096-byte limit/);
      return true;
    });
    nothingLeft();
  });

  test('no Content-Length and a body over the cap: refused while reading, no partial file', async () => {
    const url = await rawServer((s) => {
      // body delimited by the connection closing: only counting while reading can stop it
      s.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
      for (let i = 0; i < 64; i++) s.write(Buffer.alloc(1024, 'b'));
      s.end();
    });
    await assert.rejects(client.downloadToFile(url, dest(), { maxBytes: 4096 }), (err: Error) => {
      assert.ok(err instanceof SizeLimitError, String(err));
      assert.match(err.message, /goes over the 4096-byte limit/);
      return true;
    });
    nothingLeft();
  });

  test('a Content-Length under the cap with a chunked body over it is refused', async () => {
    const url = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < 64; i++) s.write(`400\r\n${'c'.repeat(1024)}\r\n`);
      s.end('0\r\n\r\n');
    });
    await assert.rejects(
      client.downloadToFile(url, dest(), { maxBytes: 4096, retry: false }),
      (err: Error) => {
        assert.ok(err instanceof SizeLimitError || err instanceof NetworkError, String(err));
        return true;
      },
    );
    nothingLeft();
  });

  test('a body shorter than its Content-Length is an error, not a short file', async () => {
    const url = await rawServer((s) => {
      s.end(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'d'.repeat(40)}`);
    });
    await assert.rejects(client.downloadToFile(url, dest(), { maxBytes: 4096 }), (err: Error) => {
      assert.ok(err instanceof IOError || err instanceof NetworkError, String(err));
      return true;
    });
    nothingLeft();
  });

  test('a server that stalls mid-body hits the idle timeout', async () => {
    const url = await rawServer((s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'e'.repeat(10)}`);
      // and then nothing, with the connection open
    });
    await assert.rejects(
      client.downloadToFile(url, dest(), { maxBytes: 4096, idleTimeoutMs: 150 }),
      (err: Error) => {
        assert.ok(err instanceof NetworkError, String(err));
        assert.match(
          err.message,
          /download http:\/\/127\.0\.0\.1:\d+\/file\.bin: no data for 150 ms after 10 bytes/,
        );
        return true;
      },
    );
    nothingLeft();
  });

  test('a server that never answers hits the timeout', async () => {
    const url = await rawServer(() => {});
    await assert.rejects(
      client.downloadToFile(url, dest(), { maxBytes: 4096, idleTimeoutMs: 150, retry: false }),
      (err: Error) => {
        assert.ok(err instanceof NetworkError, String(err));
        assert.match(err.message, /no answer within 150 ms/);
        return true;
      },
    );
    nothingLeft();
  });

  test('HTTP errors and non-http URLs are typed errors', async () => {
    const url = await rawServer((s) => s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    await assert.rejects(client.downloadToFile(url, dest(), { maxBytes: 10 }), NotFoundError);
    await assert.rejects(
      client.downloadToFile('file:///etc/passwd', dest(), { maxBytes: 10 }),
      /only http and https/,
    );
    nothingLeft();
    assert.equal(existsSync(join(work, 'dl-0')), false);
  });
});
