import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isTarArchiveFile, sniffArchiveCompression, unpackArchiveFile } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'berth-archive-file-'));
after(() => rmSync(root, { recursive: true, force: true }));

const payload = join(root, 'payload');
mkdirSync(join(payload, 'inner'), { recursive: true });
writeFileSync(join(payload, 'inner', 'file.txt'), 'hello\n');

const tarFlags: Record<string, string> = { none: '-cf', gzip: '-czf', xz: '-cJf', bzip2: '-cjf' };

function haveProgram(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('archive files (ADD)', () => {
  for (const [compression, flag] of Object.entries(tarFlags)) {
    test(`a ${compression} tar is sniffed by content and unpacked`, async (t) => {
      if (compression !== 'none' && compression !== 'gzip' && !haveProgram(compression)) {
        t.skip(`${compression} is not installed`);
        return;
      }
      const file = join(root, `bundle-${compression}.bin`);
      execFileSync('tar', ['-C', payload, flag, file, '.']);
      assert.equal(sniffArchiveCompression(readFileSync(file).subarray(0, 16)), compression);
      assert.equal(await isTarArchiveFile(file), true);
      const out = mkdtempSync(join(root, 'out-'));
      await unpackArchiveFile(file, out);
      assert.equal(readFileSync(join(out, 'inner', 'file.txt'), 'utf8'), 'hello\n');
    });
  }

  test('a compressed file that is not a tar is not an archive', async (t) => {
    if (!haveProgram('xz')) {
      t.skip('xz is not installed');
      return;
    }
    const plain = join(root, 'note.txt');
    writeFileSync(plain, 'just text, not a tar\n'.repeat(100));
    assert.equal(await isTarArchiveFile(plain), false);
    execFileSync('xz', ['-k', plain]);
    execFileSync('gzip', ['-k', plain]);
    assert.equal(await isTarArchiveFile(`${plain}.xz`), false);
    assert.equal(await isTarArchiveFile(`${plain}.gz`), false);
  });

  test('a corrupt xz archive is refused with a typed error', async (t) => {
    if (!haveProgram('xz')) {
      t.skip('xz is not installed');
      return;
    }
    const file = join(root, 'bad.tar.xz');
    execFileSync('tar', ['-C', payload, '-cJf', file, '.']);
    const bytes = readFileSync(file);
    bytes.fill(0x55, 12, bytes.length - 12);
    writeFileSync(file, bytes);
    const out = mkdtempSync(join(root, 'out-'));
    await assert.rejects(unpackArchiveFile(file, out), (err: Error) => {
      assert.equal(err.name, 'InvalidArgumentError', `${err.name}: ${err.message}`);
      assert.match(err.message, /xz decompression failed/);
      return true;
    });
  });
});
