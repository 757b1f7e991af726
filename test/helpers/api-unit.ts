// The API's unit tests: an Engine on a temporary root with the API served on a socket beside
// it, started before the file's tests and closed (root removed) after them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { serveApi } from '../../src/api/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';

export interface ApiUnderTest {
  /** The temporary directory (root, runroot and socket live in it). */
  readonly dir: string;
  readonly sock: string;
  /** The engine the service runs on (set once the file's `before` ran). */
  readonly engine: Engine;
}

export function apiUnderTest(prefix: string): ApiUnderTest {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const sock = join(dir, 'run', 'api.sock');
  let engine: Engine | undefined;
  let server: Awaited<ReturnType<typeof serveApi>> | undefined;
  before(async () => {
    engine = createEngine({ root: join(dir, 'root'), runroot: join(dir, 'runroot') });
    server = await serveApi(engine, { socket: sock, serverVersion: '9.9.9' });
  });
  after(async () => {
    await server?.close();
    engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    sock,
    get engine(): Engine {
      if (!engine) throw new Error('the API under test is not started yet');
      return engine;
    },
  };
}
