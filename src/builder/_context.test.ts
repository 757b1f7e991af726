import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  InvalidArgumentError,
  IOError,
  NotFoundError,
  SizeLimitError,
  UnsafePathError,
} from '../errors/index.js';
import { BuildContext, type ContextEntry, compareUtf8 } from './_context.js';

/** A temp dir populated from a spec: string = file content, null = dir, { link } = symlink. */
type Spec = Record<string, string | null | { link: string }>;

function makeTree(spec: Spec): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-context-'));
  for (const [path, v] of Object.entries(spec)) {
    const host = join(dir, path);
    mkdirSync(join(host, '..'), { recursive: true });
    if (v === null) mkdirSync(host, { recursive: true });
    else if (typeof v === 'string') writeFileSync(host, v);
    else symlinkSync(v.link, host);
  }
  return dir;
}

async function withTree(spec: Spec, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = makeTree(spec);
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const paths = (es: ContextEntry[]): string[] => es.map((e) => e.path);
const sha256 = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

test('open snapshots the tree; resolveSources and walk return sorted entries with metadata', async () => {
  await withTree(
    { 'a.txt': 'A', 'src/b.ts': 'B', 'src/sub/c.ts': 'C', 'src-x/d': 'D', empty: null },
    async (dir) => {
      chmodSync(join(dir, 'src/b.ts'), 0o4755);
      const ctx = await BuildContext.open(dir);
      assert.equal(ctx.root, dir);
      const [a] = await ctx.resolveSources(['a.txt']);
      const st = statSync(join(dir, 'a.txt'));
      assert.deepEqual(
        { ...a },
        { path: 'a.txt', type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 1 },
      );
      const [src] = await ctx.resolveSources(['src']);
      assert.equal(src!.type, 'dir');
      assert.equal(src!.size, 0);
      const walked = await ctx.walk(src!);
      assert.deepEqual(paths(walked), ['src', 'src/b.ts', 'src/sub', 'src/sub/c.ts']);
      assert.equal(walked[1]!.mode, 0o4755, 'setuid bit kept');
      const [root] = await ctx.resolveSources(['.']);
      assert.equal(root!.path, '.');
      // Byte order of whole paths: "src-x" (0x2d) sorts before "src/" (0x2f).
      assert.deepEqual(paths(await ctx.walk(root!)), [
        '.',
        'a.txt',
        'empty',
        'src',
        'src-x',
        'src-x/d',
        'src/b.ts',
        'src/sub',
        'src/sub/c.ts',
      ]);
      assert.equal(ctx.hostPath(walked[3]!), join(dir, 'src/sub/c.ts'));
      assert.equal(ctx.hostPath(root!), dir);
      assert.ok(Object.isFrozen(walked[0]), 'entries are immutable snapshots');
    },
  );
});

test('resolveSources: an absolute source is relative to the context root', async () => {
  await withTree({ 'a/b.txt': 'x' }, async (dir) => {
    const ctx = await BuildContext.open(dir);
    assert.deepEqual(paths(await ctx.resolveSources(['/a/b.txt'])), ['a/b.txt']);
    assert.deepEqual(paths(await ctx.resolveSources(['/'])), ['.']);
    assert.deepEqual(paths(await ctx.resolveSources(['./a/./b.txt'])), ['a/b.txt']);
    // Rooted: ".." cannot climb above "/", so this stays inside.
    assert.deepEqual(paths(await ctx.resolveSources(['/../a/b.txt'])), ['a/b.txt']);
  });
});

test('resolveSources: a source that escapes the context is UnsafePathError', async () => {
  await withTree({ 'a/b.txt': 'x' }, async (dir) => {
    const ctx = await BuildContext.open(dir);
    for (const bad of ['../x', 'a/../../x', '..', 'a/b/../../../etc/passwd']) {
      await assert.rejects(ctx.resolveSources([bad]), (err: unknown) => {
        assert.ok(err instanceof UnsafePathError, bad);
        assert.equal(err.message, `COPY source "${bad}" is outside the build context`);
        return true;
      });
    }
    // Lexically inside: fine.
    assert.deepEqual(paths(await ctx.resolveSources(['a/../a/b.txt'])), ['a/b.txt']);
  });
});

test('resolveSources: missing sources are NotFoundError naming the pattern; bad syntax is InvalidArgumentError', async () => {
  await withTree({ 'a.txt': 'x', 'secret.key': 'k' }, async (dir) => {
    const ctx = await BuildContext.open(dir, { ignore: ['*.key'] });
    await assert.rejects(ctx.resolveSources(['nope.txt']), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.message, 'COPY source "nope.txt" not found in build context');
      assert.equal(err.hint, undefined);
      return true;
    });
    await assert.rejects(ctx.resolveSources(['secret.key']), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.hint, 'it is excluded by .dockerignore');
      return true;
    });
    // A missing literal fails even when other sources matched.
    await assert.rejects(ctx.resolveSources(['a.txt', 'nope.txt']), NotFoundError);
    await assert.rejects(ctx.resolveSources(['[']), InvalidArgumentError);
    await assert.rejects(ctx.resolveSources([]), InvalidArgumentError);
    await assert.rejects(ctx.resolveSources(['']), InvalidArgumentError);
    await assert.rejects(ctx.resolveSources(['a\0b']), InvalidArgumentError);
  });
});

test('resolveSources: wildcards; an empty wildcard is an error only when nothing matched at all', async () => {
  await withTree(
    {
      'a.txt': '1',
      'b.txt': '2',
      'c.md': '3',
      '.hidden.txt': '4',
      'x/one.txt': '5',
      'y/one.txt': '6',
      'a*b': 'lit',
    },
    async (dir) => {
      const ctx = await BuildContext.open(dir);
      assert.deepEqual(paths(await ctx.resolveSources(['*.txt'])), ['.hidden.txt', 'a.txt', 'b.txt']);
      assert.deepEqual(paths(await ctx.resolveSources(['?.md', '[ab].txt'])), ['c.md', 'a.txt', 'b.txt']);
      assert.deepEqual(paths(await ctx.resolveSources(['*/one.txt'])), ['x/one.txt', 'y/one.txt']);
      assert.deepEqual(paths(await ctx.resolveSources(['a\\*b'])), ['a*b'], 'escaped star is literal');
      assert.deepEqual(paths(await ctx.resolveSources(['*.nomatch', 'c.md'])), ['c.md']);
      await assert.rejects(ctx.resolveSources(['*.nomatch', 'z*']), (err: unknown) => {
        assert.ok(err instanceof NotFoundError);
        assert.equal(
          err.message,
          'COPY failed: no source files were specified ("*.nomatch", "z*" matched nothing)',
        );
        return true;
      });
      // The same file matched twice is returned once.
      assert.deepEqual(paths(await ctx.resolveSources(['a.txt', '*.txt'])), [
        'a.txt',
        '.hidden.txt',
        'b.txt',
      ]);
    },
  );
});

test('resolveSources: a trailing slash matches directories only', async () => {
  await withTree({ 'f.txt': 'x', 'd/e': 'y' }, async (dir) => {
    const ctx = await BuildContext.open(dir);
    assert.deepEqual(paths(await ctx.resolveSources(['d/'])), ['d']);
    await assert.rejects(ctx.resolveSources(['f.txt/']), NotFoundError);
  });
});

test('resolveSources follows symlinks inside the context; walk returns symlinks unfollowed', async () => {
  await withTree(
    {
      'real/a.txt': 'A',
      'real/inner': { link: 'a.txt' },
      'real/sub/b.txt': 'B',
      dirlink: { link: 'real' },
      filelink: { link: 'real/a.txt' },
      'nested/up': { link: '../real/sub' },
    },
    async (dir) => {
      const ctx = await BuildContext.open(dir);
      const [d] = await ctx.resolveSources(['dirlink']);
      assert.equal(d!.path, 'dirlink', 'named as written: the copier names the destination after it');
      assert.equal(d!.type, 'dir', 'typed as its target');
      const walked = await ctx.walk(d!);
      assert.deepEqual(paths(walked), [
        'dirlink',
        'dirlink/a.txt',
        'dirlink/inner',
        'dirlink/sub',
        'dirlink/sub/b.txt',
      ]);
      const inner = walked.find((e) => e.path === 'dirlink/inner')!;
      assert.equal(inner.type, 'symlink');
      assert.equal(inner.linkTarget, 'a.txt');
      assert.equal(ctx.hostPath(inner), join(dir, 'real/inner'), 'a symlink entry is not followed');
      assert.equal(ctx.hostPath(walked[1]!), join(dir, 'real/a.txt'));
      const [f] = await ctx.resolveSources(['filelink']);
      assert.equal(f!.type, 'file');
      assert.equal(f!.size, 1);
      assert.equal(await ctx.fileDigest(f!), sha256('A'));
      assert.deepEqual(paths(await ctx.resolveSources(['dirlink/sub/*.txt'])), ['dirlink/sub/b.txt']);
      assert.deepEqual(paths(await ctx.resolveSources(['nested/up/b.txt'])), ['nested/up/b.txt']);
      assert.deepEqual(paths(await ctx.resolveSources(['*link'])), ['dirlink', 'filelink']);
    },
  );
});

test('symlinks cannot leave the context: targets are resolved as if the context were "/"', async () => {
  await withTree(
    {
      abs: { link: '/etc/passwd' },
      up: { link: '../../../../../../etc' },
      'data/x': 'inside',
      rerooted: { link: '/data/x' },
      climb: { link: '../../../../data' },
    },
    async (dir) => {
      const ctx = await BuildContext.open(dir);
      await assert.rejects(ctx.resolveSources(['abs']), NotFoundError);
      await assert.rejects(ctx.resolveSources(['up/passwd']), NotFoundError);
      const [r] = await ctx.resolveSources(['rerooted']);
      assert.equal(ctx.hostPath(r!), join(dir, 'data/x'));
      assert.equal(await ctx.fileDigest(r!), sha256('inside'));
      const [c] = await ctx.resolveSources(['climb/x']);
      assert.equal(ctx.hostPath(c!), join(dir, 'data/x'));
      // Returned as plain links when walking the root.
      const [root] = await ctx.resolveSources(['.']);
      const abs = (await ctx.walk(root!)).find((e) => e.path === 'abs')!;
      assert.deepEqual([abs.type, abs.linkTarget], ['symlink', '/etc/passwd']);
    },
  );
});

test('symlink loops fail with UnsafePathError instead of spinning', async () => {
  await withTree({ a: { link: 'b' }, b: { link: 'a' }, self: { link: 'self/x' } }, async (dir) => {
    const ctx = await BuildContext.open(dir);
    await assert.rejects(ctx.resolveSources(['a']), UnsafePathError);
    await assert.rejects(ctx.resolveSources(['self']), UnsafePathError);
  });
});

test('ignored paths are invisible, also through symlinks; exceptions keep their parents', async () => {
  await withTree(
    {
      'keep.txt': 'k',
      'secret/key': 'S',
      'node_modules/pkg/index.js': 'x',
      'node_modules/keepme/LICENSE': 'L',
      'node_modules/keepme/other': 'o',
      tosecret: { link: 'secret/key' },
      'hidden-link': { link: 'keep.txt' },
      'logs/a.log': '1',
      'logs/deep/b.log': '2',
    },
    async (dir) => {
      const ignore = ['secret', 'node_modules', '!node_modules/keepme/LICENSE', 'hidden-link', '**/*.log'];
      const ctx = await BuildContext.open(dir, { ignore });
      const [root] = await ctx.resolveSources(['.']);
      assert.deepEqual(paths(await ctx.walk(root!)), [
        '.',
        'keep.txt',
        'logs',
        'logs/deep',
        'node_modules',
        'node_modules/keepme',
        'node_modules/keepme/LICENSE',
        'tosecret',
      ]);
      await assert.rejects(ctx.resolveSources(['secret/key']), NotFoundError);
      await assert.rejects(ctx.resolveSources(['tosecret']), NotFoundError, 'link to an ignored file');
      await assert.rejects(ctx.resolveSources(['hidden-link']), NotFoundError, 'ignored link to a kept file');
      await assert.rejects(ctx.resolveSources(['node_modules/pkg']), NotFoundError);
      assert.deepEqual(paths(await ctx.resolveSources(['node_modules/*/*'])), [
        'node_modules/keepme/LICENSE',
      ]);
      await assert.rejects(ctx.resolveSources(['**/*.log']), NotFoundError);
    },
  );
});

test('limits: too many entries or too deep is SizeLimitError; skipped subtrees do not count', async () => {
  await withTree({ 'a/b/c/d/e': 'deep', f1: '1', f2: '2' }, async (dir) => {
    await assert.rejects(BuildContext.open(dir, { maxEntries: 3 }), (err: unknown) => {
      assert.ok(err instanceof SizeLimitError);
      assert.match(err.message, /more than 3 entries/);
      return true;
    });
    await assert.rejects(BuildContext.open(dir, { maxDepth: 4 }), (err: unknown) => {
      assert.ok(err instanceof SizeLimitError);
      assert.match(err.message, /deeper than 4 levels at "a\/b\/c\/d\/e"/);
      return true;
    });
    const ctx = await BuildContext.open(dir, { maxDepth: 1, maxEntries: 2, ignore: ['a'] });
    const [root] = await ctx.resolveSources(['.']);
    assert.deepEqual(paths(await ctx.walk(root!)), ['.', 'f1', 'f2']);
    await assert.rejects(BuildContext.open(dir, { maxEntries: 0 }), InvalidArgumentError);
  });
});

test('sockets and FIFOs in the context are skipped', async () => {
  await withTree({ 'a.txt': 'x' }, async (dir) => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve));
    try {
      const ctx = await BuildContext.open(dir);
      const [root] = await ctx.resolveSources(['.']);
      assert.deepEqual(paths(await ctx.walk(root!)), ['.', 'a.txt']);
      await assert.rejects(ctx.resolveSources(['fifo']), NotFoundError);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

test('open: missing or non-directory contexts and bad names', async () => {
  await withTree({ 'f.txt': 'x' }, async (dir) => {
    await assert.rejects(BuildContext.open(join(dir, 'nope')), NotFoundError);
    await assert.rejects(BuildContext.open(join(dir, 'f.txt')), InvalidArgumentError);
    await assert.rejects(BuildContext.open(dir, { ignore: ['!'] }), InvalidArgumentError);
    // Opening through a symlink gives the real root.
    symlinkSync(dir, `${dir}-link`);
    try {
      assert.equal((await BuildContext.open(`${dir}-link`)).root, dir);
    } finally {
      rmSync(`${dir}-link`);
    }
    const bad = Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe])]);
    writeFileSync(bad, 'x');
    await assert.rejects(BuildContext.open(dir), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /not valid UTF-8/);
      return true;
    });
    // Ignored, the bad name is never looked at.
    assert.ok(await BuildContext.open(dir, { ignore: ['bad-*'] }));
  });
});

test('fileDigest: sha256 of the content, cached; refuses non-files and swapped files', async () => {
  await withTree(
    { 'a.txt': 'hello', d: null, other: 'evil', 'b.txt': 'bee', 'c.txt': 'sea' },
    async (dir) => {
      const ctx = await BuildContext.open(dir);
      const [a, d, b, c] = await ctx.resolveSources(['a.txt', 'd', 'b.txt', 'c.txt']);
      assert.equal(await ctx.fileDigest(a!), sha256('hello'));
      writeFileSync(join(dir, 'a.txt'), 'changed in place');
      assert.equal(await ctx.fileDigest(a!), sha256('hello'), 'cached per path');
      await assert.rejects(ctx.fileDigest(d!), InvalidArgumentError);
      // Replaced by another file: another inode.
      renameSync(join(dir, 'other'), join(dir, 'b.txt'));
      await assert.rejects(ctx.fileDigest(b!), IOError);
      // Replaced by a symlink to a file outside the context: O_NOFOLLOW refuses it.
      const outside = `${dir}-outside`;
      writeFileSync(outside, 'host secret');
      try {
        rmSync(join(dir, 'c.txt'));
        symlinkSync(outside, join(dir, 'c.txt'));
        await assert.rejects(ctx.fileDigest(c!), IOError);
      } finally {
        rmSync(outside);
      }
      await assert.rejects(
        ctx.fileDigest({ path: 'not-there', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0 }),
        NotFoundError,
      );
    },
  );
});

test('fileDigest: a parent directory swapped for a symlink out of the context is caught', async () => {
  await withTree({ 'sub/f': 'inside' }, async (dir) => {
    const ctx = await BuildContext.open(dir);
    const [f] = await ctx.resolveSources(['sub/f']);
    const outside = mkdtempSync(join(tmpdir(), 'berth-outside-'));
    try {
      writeFileSync(join(outside, 'f'), 'host secret');
      renameSync(join(dir, 'sub'), join(dir, 'sub-old'));
      symlinkSync(outside, join(dir, 'sub'));
      await assert.rejects(ctx.fileDigest(f!), IOError);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

test('sourcesDigest: ignores times and location; covers content, modes, links, names', async () => {
  const spec: Spec = {
    'app/main.js': 'main',
    'app/lib/util.js': 'util',
    'app/link': { link: 'main.js' },
    'c.txt': 'c',
  };
  await withTree(spec, async (dir) => {
    const key = async (d: string, sources = ['app', 'c.txt'], includeOwners = false): Promise<string> => {
      const ctx = await BuildContext.open(d);
      return ctx.sourcesDigest(await ctx.resolveSources(sources), { includeOwners });
    };
    const base = await key(dir);
    assert.match(base, /^sha256:[0-9a-f]{64}$/);
    // A copy elsewhere with other mtimes gives the same key.
    const copy = `${dir}-copy`;
    cpSync(dir, copy, { recursive: true, verbatimSymlinks: true });
    try {
      utimesSync(join(copy, 'app/main.js'), 1000, 1000);
      utimesSync(join(copy, 'app'), 2000, 2000);
      assert.equal(await key(copy), base);
      writeFileSync(join(copy, 'app/lib/util.js'), 'UTIL');
      assert.notEqual(await key(copy), base, 'content');
      writeFileSync(join(copy, 'app/lib/util.js'), 'util');
      assert.equal(await key(copy), base);
      chmodSync(join(copy, 'app/main.js'), 0o755);
      assert.notEqual(await key(copy), base, 'mode');
      chmodSync(join(copy, 'app/main.js'), 0o644);
      rmSync(join(copy, 'app/link'));
      symlinkSync('lib/util.js', join(copy, 'app/link'));
      assert.notEqual(await key(copy), base, 'link target');
      rmSync(join(copy, 'app/link'));
      symlinkSync('main.js', join(copy, 'app/link'));
      assert.equal(await key(copy), base);
      renameSync(join(copy, 'app/lib'), join(copy, 'app/lib2'));
      assert.notEqual(await key(copy), base, 'names below a source');
      renameSync(join(copy, 'app/lib2'), join(copy, 'app/lib'));
      assert.notEqual(await key(dir, ['c.txt', 'app']), base, 'source order');
      // Owners count only when asked.
      lchownSync(join(copy, 'app/main.js'), 1234, 5678);
      chownSync(join(copy, 'app'), 1234, 5678);
      assert.equal(await key(copy), base);
      assert.notEqual(await key(copy, undefined, true), await key(dir, undefined, true));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

test('compareUtf8 orders by code point (UTF-8 bytes), not UTF-16 units', () => {
  const words = ['b', 'a/b', 'a-b', 'a', '\uffff', '😀', 'é'];
  const sorted = [...words].sort(compareUtf8);
  const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual(sorted, byBytes);
  assert.ok(compareUtf8('\uffff', '😀') < 0);
});
