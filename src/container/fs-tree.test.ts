// cp into a container writes through archive's TreeWriter: symlinks in the container resolve
// inside its rootfs, a tar cannot climb out, and a directory swapped for a symlink while the
// tar streams (CVE-2018-15664) gets no write outside. A stand-in manager hands out a plain
// directory as the (already mounted) rootfs.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type TarEntryInput, writeTar } from '../archive/index.js';
import { copyToContainer, tarToContainerPath } from './fs.js';
import type { ContainerManager } from './manager.js';

let base: string;
let rootfs: string;
let outside: string;
let manager: ContainerManager;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'berth-cp-test-'));
  rootfs = join(base, 'rootfs');
  outside = join(base, 'outside');
  mkdirSync(rootfs);
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim'), 'original');
  const store = {
    resolveImage: () => ({ layers: [] }),
    isMounted: () => true,
    mountContainerRootfs: () => rootfs,
    getContainer: () => undefined,
    unmountContainerRootfs: () => undefined,
  };
  manager = { get: () => ({ id: 'c1', imageId: 'i1' }), store } as unknown as ContainerManager;
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function assertOutsideUntouched(): void {
  assert.deepEqual(readdirSync(outside), ['victim']);
  assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'original');
}

async function tar(entries: TarEntryInput[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of writeTar(entries)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const file = (name: string, text: string): TarEntryInput => ({
  header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: text.length, mtime: 1 },
  body: Buffer.from(text),
});
const dir = (name: string): TarEntryInput => ({
  header: { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 },
});

describe('cp into a container', () => {
  test('links to host paths (absolute, or climbing with ..) resolve inside the rootfs', async () => {
    const reRooted = join(rootfs, outside);
    mkdirSync(reRooted, { recursive: true });
    symlinkSync(outside, join(rootfs, 'abs'));
    symlinkSync(`../../../../../../../../../..${outside}`, join(rootfs, 'up'));
    const src = join(base, 'payload');
    writeFileSync(src, 'payload');
    await copyToContainer(manager, 'c1', { src, dest: '/abs/one' });
    await copyToContainer(manager, 'c1', { src, dest: '/up/two' });
    await tarToContainerPath(
      manager,
      'c1',
      '/abs',
      (async function* () {
        yield await tar([file('three', 'x')]);
      })(),
    );
    assert.deepEqual(readdirSync(reRooted).sort(), ['one', 'three', 'two']);
    assertOutsideUntouched();
  });

  test('a tar entry or hardlink climbing out is refused', async () => {
    for (const entries of [
      [file('../escape', 'x')],
      [
        {
          header: {
            ...file('h', '').header,
            type: 'hardlink' as const,
            size: 0,
            linkname: '../../outside/victim',
          },
        },
      ],
    ]) {
      const input = (async function* () {
        yield await tar(entries);
      })();
      await assert.rejects(tarToContainerPath(manager, 'c1', '/', input), { code: 'UNSAFE_PATH' });
    }
    assertOutsideUntouched();
  });

  test('a directory swapped for a symlink while the tar streams gets no write outside', async () => {
    const whole = await tar([dir('d/'), file('d/a', 'a'), file('d/b', 'b')]);
    const cut = 512 * 4; // d/, the header and one data block of d/a
    async function* input(): AsyncGenerator<Buffer> {
      yield whole.subarray(0, cut);
      renameSync(join(rootfs, 'd'), join(rootfs, 'moved'));
      symlinkSync(outside, join(rootfs, 'd'));
      yield whole.subarray(cut);
    }
    try {
      await tarToContainerPath(manager, 'c1', '/', input());
    } catch (err) {
      // refusing the link is as good as writing into the directory it opened
      assert.equal((err as { code?: string }).code, 'UNSAFE_PATH');
    }
    assert.equal(existsSync(join(outside, 'b')), false);
    assertOutsideUntouched();
  });
});
