// The build context: one lstat-only snapshot of the context directory, taken at open with
// .dockerignore applied, against which COPY/ADD sources are resolved. Like BuildKit (which
// transfers the filtered context and resolves sources inside the copy) an ignored path does
// not exist at all: a symlink through it, or to it, finds nothing. Content is read from disk
// later (fileDigest, the copier), checked against the snapshot's device and inode so a swap
// after open cannot redirect a read outside the context.
import { createHash } from 'node:crypto';
import { type BigIntStats, existsSync, constants as fsc } from 'node:fs';
import { lstat, open, readdir, readlink, realpath } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import {
  errnoCode,
  InvalidArgumentError,
  IOError,
  NotFoundError,
  SizeLimitError,
  UnsafePathError,
} from '../errors/index.js';
import { cleanPath, compileGlob, hasGlobMeta, IgnoreMatcher } from './_ignore.js';

export interface ContextEntry {
  /**
   * Relative, '/'-separated, no leading './'; the context root is '.'. For resolveSources
   * results this is the path as the pattern matched it (a symlink named there is followed,
   * so `type` describes its target); walk() extends it below a source. Name destinations after
   * it, read content through hostPath().
   */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits including setuid/setgid/sticky (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes for files, target length for symlinks, 0 for directories. */
  size: number;
  /** Symlinks: the target exactly as stored (not followed by walk). */
  linkTarget?: string;
}

export interface BuildContextOptions {
  /** .dockerignore patterns (parseIgnoreFile's output). */
  ignore?: string[];
  /** Most entries kept after .dockerignore (default 1,000,000). */
  maxEntries?: number;
  /** Most path components below the root (default 256). */
  maxDepth?: number;
}

interface Node {
  /** Frozen; its path is the real path (no symlinks in it). */
  entry: ContextEntry;
  dev: bigint;
  ino: bigint;
  /** Directories: names of the kept children, in byte order. */
  children?: string[];
}

const MAX_SYMLINK_HOPS = 40;
const STAT_BATCH = 64;
const DIGEST_BATCH = 16;
const READ_CHUNK = 256 * 1024;

/**
 * Resolves and reads COPY/ADD sources from a local build context.
 *
 * Choices where Docker is loose or its two builders disagree:
 * - Sockets, FIFOs and device nodes are left out of the snapshot silently (tar cannot carry
 *   sockets, and copying a device out of a context is never what a build means).
 * - A directory excluded by .dockerignore still exists if an exception re-includes something
 *   below it (it appears as that path's parent, as in BuildKit's transfer).
 * - A source without wildcards that matches nothing is an error. A wildcard source that
 *   matches nothing is an error only when no source of the instruction matched anything: the
 *   classic builder's rule (BuildKit copies nothing and succeeds, which hides typos).
 * - A symlink loop or chain of more than 40 links fails with UnsafePathError, as ELOOP.
 * - File names and link targets must be UTF-8 (the tar writer needs it); others fail at open.
 */
export class BuildContext {
  /** Absolute real path of the context directory. */
  readonly root: string;
  private readonly nodes = new Map<string, Node>();
  private readonly digests = new Map<string, Promise<string>>();
  private readonly matcher: IgnoreMatcher;
  private readonly maxEntries: number;
  private readonly maxDepth: number;
  private count = 0;

  private constructor(root: string, matcher: IgnoreMatcher, maxEntries: number, maxDepth: number) {
    this.root = root;
    this.matcher = matcher;
    this.maxEntries = maxEntries;
    this.maxDepth = maxDepth;
  }

  /** Snapshot `dir` (lstat only, nothing followed) with the ignore patterns applied. */
  static async open(dir: string, options: BuildContextOptions = {}): Promise<BuildContext> {
    const maxEntries = options.maxEntries ?? 1_000_000;
    const maxDepth = options.maxDepth ?? 256;
    for (const [name, v] of [
      ['maxEntries', maxEntries],
      ['maxDepth', maxDepth],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1)
        throw new InvalidArgumentError(`invalid build context ${name} ${v}`);
    }
    const matcher = new IgnoreMatcher(options.ignore ?? []);
    let root: string;
    let st: BigIntStats;
    try {
      root = await realpath(resolvePath(dir));
      st = await lstat(root, { bigint: true });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new NotFoundError(`build context "${dir}" not found`, { cause: err });
      }
      throw new IOError(`cannot open build context "${dir}": ${code ?? String(err)}`, { cause: err });
    }
    if (!st.isDirectory()) throw new InvalidArgumentError(`build context "${dir}" is not a directory`);
    const ctx = new BuildContext(root, matcher, maxEntries, maxDepth);
    const children = await ctx.scanVerifiedDir('.', root, st, 0);
    ctx.nodes.set('.', { entry: entryOf('.', 'dir', st), dev: st.dev, ino: st.ino, children });
    return ctx;
  }

  /**
   * Resolve COPY/ADD source patterns: each is cleaned (an absolute one is relative to the
   * context root; one that climbs out with `..` is refused), then matched component by
   * component with Go filepath.Match wildcards against the snapshot, following symlinks
   * inside the context (absolute targets re-rooted at it, `..` clamped) including a final
   * symlink, as COPY does. Returns, per pattern in order, the matches in byte order of path;
   * a path matched twice is returned once. A pattern ending in '/' matches only directories.
   */
  async resolveSources(patterns: string[]): Promise<ContextEntry[]> {
    if (patterns.length === 0) throw new InvalidArgumentError('COPY needs at least one source');
    const out: ContextEntry[] = [];
    const seen = new Set<string>();
    const unmatchedWildcards: string[] = [];
    for (const pattern of patterns) {
      const comps = cleanSource(pattern);
      const wantDir = pattern.endsWith('/');
      let frontier: { lex: string; real: string }[] = [{ lex: '.', real: '.' }];
      for (let i = 0; i < comps.length && frontier.length > 0; i++) {
        const comp = comps[i]!;
        const last = i === comps.length - 1;
        const glob = hasGlobMeta(comp) ? compileGlob(comp, { what: 'COPY source' }) : undefined;
        const next: { lex: string; real: string }[] = [];
        for (const f of frontier) {
          const names = glob
            ? this.nodes.get(f.real)!.children!.filter((n) => glob.test(n))
            : this.nodes.has(join(f.real, comp))
              ? [comp]
              : [];
          for (const name of names) {
            const real = this.resolveReal(join(f.real, name), true);
            if (real === undefined) continue;
            if (!last && this.nodes.get(real)!.entry.type !== 'dir') continue;
            next.push({ lex: join(f.lex, name), real });
          }
        }
        frontier = next;
      }
      const matched = frontier
        .filter((f) => !wantDir || this.nodes.get(f.real)!.entry.type === 'dir')
        .sort((a, b) => compareUtf8(a.lex, b.lex));
      if (matched.length === 0) {
        if (comps.some(hasGlobMeta)) {
          unmatchedWildcards.push(pattern);
          continue;
        }
        const hint = this.matcher.matches(comps.join('/')) ? 'it is excluded by .dockerignore' : undefined;
        throw new NotFoundError(
          `COPY source "${pattern}" not found in build context`,
          hint === undefined ? {} : { hint },
        );
      }
      for (const m of matched) {
        if (seen.has(m.lex)) continue;
        seen.add(m.lex);
        out.push(withPath(this.nodes.get(m.real)!.entry, m.lex));
      }
    }
    if (out.length === 0) {
      const which = unmatchedWildcards.map((p) => JSON.stringify(p)).join(', ');
      throw new NotFoundError(`COPY failed: no source files were specified (${which} matched nothing)`);
    }
    return out;
  }

  /**
   * `entry` and everything below it (for a directory), sorted by path in byte order, so a
   * directory always precedes its contents. Symlinks below are returned as symlink entries,
   * never followed. Returns an array (not a stream): the snapshot is already in memory, bounded
   * by maxEntries.
   */
  async walk(entry: ContextEntry): Promise<ContextEntry[]> {
    const real = this.realOf(entry);
    const out: ContextEntry[] = [];
    const stack: { real: string; lex: string }[] = [{ real, lex: entry.path }];
    while (stack.length > 0) {
      const { real: r, lex } = stack.pop()!;
      const node = this.nodes.get(r)!;
      out.push(withPath(node.entry, lex));
      for (const name of node.children ?? []) stack.push({ real: join(r, name), lex: join(lex, name) });
    }
    return out.sort((a, b) => compareUtf8(a.path, b.path));
  }

  /** Absolute host path of an entry (symlinks in its path resolved as the snapshot saw them). */
  hostPath(entry: ContextEntry): string {
    const real = this.realOf(entry);
    return real === '.' ? this.root : `${this.root}/${real}`;
  }

  /**
   * `sha256:<hex>` of a file entry's content, cached per file. The file is opened without
   * following a final symlink and must still be the inode the snapshot saw.
   */
  async fileDigest(entry: ContextEntry): Promise<string> {
    const real = this.realOf(entry);
    const node = this.nodes.get(real)!;
    if (node.entry.type !== 'file') {
      throw new InvalidArgumentError(`cannot digest "${entry.path}": not a regular file`);
    }
    let p = this.digests.get(real);
    if (p === undefined) {
      p = this.hashFile(real, node);
      this.digests.set(real, p);
      // A failed read is not cached: a retry may succeed.
      p.catch(() => this.digests.delete(real));
    }
    return p;
  }

  /**
   * A cache key for COPY/ADD of `entries` (in order): each source's path, then for everything
   * below it the path relative to it, type, mode, link target and content digest (and uid/gid
   * when `includeOwners`). Times, sizes of directories and the context's location are left
   * out, so a fresh checkout elsewhere gives the same key.
   */
  async sourcesDigest(entries: ContextEntry[], options: { includeOwners: boolean }): Promise<string> {
    const h = createHash('sha256');
    const record = (fields: unknown[]): void => {
      h.update(`${JSON.stringify(fields)}\n`);
    };
    record(['berth-context-sources/v1', options.includeOwners]);
    for (const top of entries) {
      record(['source', top.path]);
      const all = await this.walk(top);
      const files = all.filter((e) => e.type === 'file');
      const digests = new Map<string, string>();
      for (let i = 0; i < files.length; i += DIGEST_BATCH) {
        const batch = files.slice(i, i + DIGEST_BATCH);
        const ds = await Promise.all(batch.map((e) => this.fileDigest(e)));
        for (let k = 0; k < batch.length; k++) digests.set(batch[k]!.path, ds[k]!);
      }
      for (const e of all) {
        const rel = e.path === top.path ? '.' : top.path === '.' ? e.path : e.path.slice(top.path.length + 1);
        const fields: unknown[] = [rel, e.type, e.mode, e.linkTarget ?? null, digests.get(e.path) ?? null];
        if (options.includeOwners) fields.push(e.uid, e.gid);
        record(fields);
      }
      record(['end']);
    }
    return `sha256:${h.digest('hex')}`;
  }

  /**
   * Open directory `rel` (at `path`, a name for it inside its already verified parent) without
   * following a symlink, check it is the inode `st` saw, and scan it through the open
   * descriptor: a directory swapped for a symlink between our lstat and our readdir cannot
   * smuggle outside files into the snapshot.
   */
  private async scanVerifiedDir(
    rel: string,
    path: string | Buffer,
    st: BigIntStats,
    depth: number,
  ): Promise<string[]> {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return []; // removed while we walked
      if (code === 'ELOOP' || code === 'ENOTDIR') throw changedWhileReading(rel, err);
      throw new IOError(`cannot read build context directory "${rel}": ${code ?? String(err)}`, {
        cause: err,
      });
    }
    try {
      const now = await fh.stat({ bigint: true });
      if (now.dev !== st.dev || now.ino !== st.ino) throw changedWhileReading(rel);
      // Without /proc the path is re-resolved: still lstat-only, but open to a swap race.
      return await this.scanDir(rel, PROC_FD ? `${PROC_FD}/${fh.fd}` : this.host(rel), depth);
    } finally {
      await fh.close();
    }
  }

  /** Names of the kept children of directory `rel`, read through `dir`; adds their nodes. */
  private async scanDir(rel: string, dir: string, depth: number): Promise<string[]> {
    let raw: Buffer[];
    try {
      raw = await readdir(dir, { encoding: 'buffer' });
    } catch (err) {
      const code = errnoCode(err);
      throw new IOError(`cannot read build context directory "${rel}": ${code ?? String(err)}`, {
        cause: err,
      });
    }
    const prefix = Buffer.from(`${dir}/`);
    const kids: { name: string; rel: string; path: Buffer; st: BigIntStats; badName: boolean }[] = [];
    for (let i = 0; i < raw.length; i += STAT_BATCH) {
      const batch = await Promise.all(
        raw.slice(i, i + STAT_BATCH).map(async (b) => {
          const name = b.toString('utf8');
          const childRel = join(rel, name);
          // By the raw bytes: a name that is not UTF-8 does not survive decoding.
          const path = Buffer.concat([prefix, b]);
          try {
            const st = await lstat(path, { bigint: true });
            return { name, rel: childRel, path, st, badName: !Buffer.from(name, 'utf8').equals(b) };
          } catch (err) {
            if (errnoCode(err) === 'ENOENT') return undefined;
            const code = errnoCode(err) ?? String(err);
            throw new IOError(`cannot stat "${childRel}" in the build context: ${code}`, { cause: err });
          }
        }),
      );
      for (const k of batch) if (k !== undefined) kids.push(k);
    }
    kids.sort((a, b) => compareUtf8(a.name, b.name));
    const kept: string[] = [];
    for (const k of kids) {
      const excluded = this.matcher.matches(k.rel);
      const isDir = k.st.isDirectory();
      if (excluded && !(isDir && this.matcher.mayHaveExceptionsUnder(k.rel))) continue;
      if (!isDir && !k.st.isFile() && !k.st.isSymbolicLink()) continue;
      if (k.badName) throw new InvalidArgumentError(`build context file name "${k.rel}" is not valid UTF-8`);
      if (depth + 1 > this.maxDepth) {
        throw new SizeLimitError(`build context is deeper than ${this.maxDepth} levels at "${k.rel}"`);
      }
      let node: Node;
      if (isDir) {
        const children = await this.scanVerifiedDir(k.rel, k.path, k.st, depth + 1);
        // An excluded directory exists only as the parent of something re-included.
        if (excluded && children.length === 0) continue;
        node = { entry: entryOf(k.rel, 'dir', k.st), dev: k.st.dev, ino: k.st.ino, children };
      } else if (k.st.isFile()) {
        node = { entry: entryOf(k.rel, 'file', k.st), dev: k.st.dev, ino: k.st.ino };
      } else {
        let target: Buffer;
        try {
          target = await readlink(k.path, { encoding: 'buffer' });
        } catch (err) {
          throw changedWhileReading(k.rel, err);
        }
        const text = target.toString('utf8');
        if (!Buffer.from(text, 'utf8').equals(target)) {
          throw new InvalidArgumentError(
            `build context symlink "${k.rel}" has a target that is not valid UTF-8`,
          );
        }
        node = { entry: entryOf(k.rel, 'symlink', k.st, text), dev: k.st.dev, ino: k.st.ino };
      }
      if (++this.count > this.maxEntries) {
        throw new SizeLimitError(
          `build context has more than ${this.maxEntries} entries after .dockerignore (at "${k.rel}")`,
        );
      }
      this.nodes.set(k.rel, node);
      kept.push(k.name);
    }
    return kept;
  }

  /**
   * The real path ('.' for the root) that `path` names in the snapshot, as if the context
   * were '/': `..` stops at the root, absolute link targets restart from it. Undefined when a
   * component is missing (or ignored) or a non-final one is not a directory.
   */
  private resolveReal(path: string, followFinal: boolean): string | undefined {
    let pending = splitPath(path);
    const resolved: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = resolved.length === 0 ? part : `${resolved.join('/')}/${part}`;
      const node = this.nodes.get(candidate);
      if (node === undefined) return undefined;
      if (node.entry.type === 'symlink' && (pending.length > 0 || followFinal)) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new UnsafePathError(
            `too many levels of symbolic links resolving "${path}" in the build context`,
          );
        }
        const target = node.entry.linkTarget!;
        if (target.startsWith('/')) resolved.length = 0;
        pending = [...splitPath(target), ...pending];
        continue;
      }
      if (pending.length > 0 && node.entry.type !== 'dir') return undefined;
      resolved.push(part);
    }
    return resolved.length === 0 ? '.' : resolved.join('/');
  }

  /** The snapshot's real path for an entry handed back to us; a symlink entry is not followed. */
  private realOf(entry: ContextEntry): string {
    const real = this.resolveReal(entry.path, entry.type !== 'symlink');
    if (real === undefined) throw new NotFoundError(`"${entry.path}" is not in the build context`);
    return real;
  }

  private host(rel: string): string {
    return rel === '.' ? this.root : `${this.root}/${rel}`;
  }

  private async hashFile(real: string, node: Node): Promise<string> {
    const changed = (cause?: unknown): IOError => changedWhileReading(real, cause);
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      // O_NOFOLLOW: a final component swapped for a symlink fails (ELOOP) instead of being
      // followed. O_NONBLOCK: one swapped for a FIFO does not hang the open.
      fh = await open(this.host(real), fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    } catch (err) {
      throw changed(err);
    }
    try {
      // Any swap of an intermediate directory for a symlink lands on a different inode.
      const st = await fh.stat({ bigint: true });
      if (!st.isFile() || st.dev !== node.dev || st.ino !== node.ino) throw changed();
      const h = createHash('sha256');
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
      }
      return `sha256:${h.digest('hex')}`;
    } finally {
      await fh.close();
    }
  }
}

/** Where this process sees its own descriptors as directories, if /proc is mounted. */
const PROC_FD = existsSync('/proc/self/fd') ? '/proc/self/fd' : undefined;

function changedWhileReading(rel: string, cause?: unknown): IOError {
  return new IOError(`build context entry "${rel}" changed while the build was reading it`, { cause });
}

/** Clean a COPY source into path components ([] for the root); refuse one that leaves the context. */
function cleanSource(pattern: string): string[] {
  if (pattern === '') throw new InvalidArgumentError('COPY source is empty');
  if (pattern.includes('\0'))
    throw new InvalidArgumentError(`COPY source ${JSON.stringify(pattern)} contains NUL`);
  const c = cleanPath(pattern);
  if (c === '..' || c.startsWith('../')) {
    throw new UnsafePathError(`COPY source "${pattern}" is outside the build context`);
  }
  return splitPath(c);
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function join(dir: string, name: string): string {
  return dir === '.' ? name : `${dir}/${name}`;
}

function entryOf(
  path: string,
  type: ContextEntry['type'],
  st: BigIntStats,
  linkTarget?: string,
): ContextEntry {
  const entry: ContextEntry = {
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'dir' ? 0 : Number(st.size),
  };
  if (linkTarget !== undefined) entry.linkTarget = linkTarget;
  return Object.freeze(entry);
}

function withPath(entry: ContextEntry, path: string): ContextEntry {
  return entry.path === path ? entry : Object.freeze({ ...entry, path });
}

/** Order of UTF-8 bytes (= code points) for JS strings, whose UTF-16 order differs above U+D7FF. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points) sort after U+E000..U+FFFF in code-point order.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
