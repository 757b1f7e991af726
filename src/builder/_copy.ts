// COPY and ADD: sources from the context, another stage or image, heredocs and URLs written
// into a mounted rootfs with no process in it; the upper dir becomes the layer.

import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isTarArchiveFile, unpackArchiveFile } from '../archive/index.js';
import { resolveUser } from '../container/index.js';
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { ImageLayerRef } from '../store/index.js';
import { resolveInRoot } from '../util/index.js';
import { download } from './_add.js';
import type { CopyInstruction, Stage } from './_ast.js';
import type { StageState } from './_build-types.js';
import type { ContextEntry } from './_context.js';
import type { Build } from './_executor.js';
import { type CopyItem, RootfsWriter, walkHost } from './_fsops.js';
import { compileGlob, hasGlobMeta, IgnoreMatcher } from './_ignore.js';
import { commitDirAsLayer } from './_layer.js';
import { parseHeredocWord } from './_shell-lex.js';

export function chmodOf(ins: CopyInstruction): number | undefined {
  if (ins.chmod === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(ins.chmod)) {
    throw new InvalidArgumentError(`invalid --chmod "${ins.chmod}": expected an octal mode such as 0755`);
  }
  return Number.parseInt(ins.chmod, 8);
}

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

export async function resolveContextSources(
  b: Build,
  patterns: string[],
  ins: CopyInstruction,
): Promise<ContextEntry[]> {
  const entries = await b.context.resolveSources(patterns);
  if (ins.excludes.length === 0) return entries;
  const ex = new IgnoreMatcher(ins.excludes);
  return entries.filter((e) => !ex.matches(e.path));
}

export async function execCopy(
  b: Build,
  stage: Stage,
  state: StageState,
  ins: CopyInstruction,
): Promise<ImageLayerRef | undefined> {
  const store = b.deps.store;
  const image = await b.materialize(state);
  const workdir = state.config.config?.WorkingDir || '/';
  const destRaw = ins.dest;
  const dest = posix.resolve(workdir, destRaw);
  const destIsDirSyntax = destRaw.endsWith('/') || destRaw === '.' || destRaw.endsWith('/.');
  const chmod = chmodOf(ins);
  const sourceCount = ins.sources.length;
  const hasWildcard = ins.sources.some((src) => !src.startsWith('<<') && hasGlobMeta(src));

  const fromImage = ins.from ? await b.imageFor(ins.from, stage.index) : undefined;

  const produce = async (writer: RootfsWriter, fromRoot: string | undefined): Promise<void> => {
    const rootfs = writer.root;
    const owner = ins.chown ? resolveUser(rootfs, ins.chown) : { uid: 0, gid: 0 };
    const opts = {
      owner: { uid: owner.uid, gid: owner.gid },
      mtime: b.epoch,
      ...(chmod !== undefined ? { chmod } : {}),
    };
    // gather the top-level sources: [name, items]
    // inline content (heredocs) has no host file: `content` carries it
    const tops: { name: string; items: CopyItem[]; content?: Buffer; remote?: boolean }[] = [];
    for (const src of ins.sources) {
      const heredoc = src.startsWith('<<') ? parseHeredocWord(src) : undefined;
      if (heredoc) {
        const name = heredoc.name;
        const doc = ins.heredocs.find((d) => d.name === name);
        if (!doc) throw new InvalidArgumentError(`${ins.kind}: heredoc "${name}" has no body`);
        tops.push({
          name,
          items: [{ hostPath: '', rel: '', type: 'file', mode: 0o644 }],
          content: Buffer.from(doc.content),
        });
        continue;
      }
      if (isUrl(src)) {
        if (ins.kind !== 'ADD') throw new InvalidArgumentError(`COPY cannot take a URL ("${src}"): use ADD`);
        const got = await download(b, src);
        if (ins.checksum && got.digest !== ins.checksum) {
          throw new InvalidArgumentError(`ADD ${src}: checksum ${got.digest} does not match ${ins.checksum}`);
        }
        const base = posix.basename(new URL(src).pathname) || 'index.html';
        // a remote archive is copied as it is, never extracted (as docker does)
        tops.push({
          name: base,
          items: [{ hostPath: got.path, rel: '', type: 'file', mode: 0o600 }],
          remote: true,
        });
        continue;
      }
      if (fromRoot !== undefined) {
        const matched = globInRoot(fromRoot, src);
        if (matched.length === 0)
          throw new NotFoundError(`${ins.kind} --from=${ins.from}: "${src}" not found`);
        for (const host of matched) tops.push({ name: posix.basename(host), items: walkHost(host) });
        continue;
      }
      const entries = await resolveContextSources(b, [src], ins);
      const excluded = ins.excludes.length > 0 ? new IgnoreMatcher(ins.excludes) : undefined;
      for (const e of entries) {
        const items: CopyItem[] = [];
        const prefix = e.path;
        for (const sub of await b.context.walk(e)) {
          if (excluded?.matches(sub.path)) continue;
          const rel =
            sub.path === prefix
              ? ''
              : prefix === '' || prefix === '.'
                ? sub.path
                : sub.path.slice(prefix.length + 1);
          items.push({
            hostPath: b.context.hostPath(sub),
            rel,
            type: sub.type,
            mode: sub.mode,
            ...(sub.linkTarget !== undefined ? { linkTarget: sub.linkTarget } : {}),
          });
        }
        tops.push({ name: ins.parents ? e.path : posix.basename(e.path) || '.', items });
      }
    }
    const many = sourceCount > 1 || hasWildcard || tops.length > 1;
    if (many && !destIsDirSyntax && !writer.isDir(dest)) {
      throw new InvalidArgumentError(
        `when using ${ins.kind} with more than one source file, the destination must be a directory and end with a /`,
      );
    }
    for (const top of tops) {
      const first = top.items[0]!;
      if (top.content !== undefined) {
        const target = destIsDirSyntax || many || writer.isDir(dest) ? posix.join(dest, top.name) : dest;
        writer.writeFile(target, top.content, first.mode, opts);
        continue;
      }
      if (first.type === 'dir') {
        const base = ins.parents ? posix.join(dest, top.name) : dest;
        writer.ensureDir(base, { owner: opts.owner, mtime: b.epoch });
        for (const item of top.items) {
          if (item.rel === '') continue;
          writer.copyItem(item, posix.join(base, item.rel), opts);
        }
        continue;
      }
      const target = destIsDirSyntax || many || writer.isDir(dest) ? posix.join(dest, top.name) : dest;
      if (
        ins.kind === 'ADD' &&
        first.type === 'file' &&
        fromRoot === undefined &&
        !top.remote &&
        (await isTarArchiveFile(first.hostPath))
      ) {
        const dir = writer.ensureDir(dest, { owner: opts.owner, mtime: b.epoch });
        // the archive is written by its own tree writer: ours must not keep fds of what it replaced
        writer.close();
        await unpackArchiveFile(first.hostPath, dir);
        continue;
      }
      writer.copyItem(first, target, opts);
    }
  };

  return b.withRootfs(image, { readOnly: false }, async (rootfs, cid) => {
    const writer = new RootfsWriter(rootfs);
    try {
      if (fromImage) {
        await b.withRootfs(fromImage, { readOnly: true }, (fromRoot) => produce(writer, fromRoot));
      } else {
        await produce(writer, undefined);
      }
    } finally {
      // no directory fd of ours may keep the rootfs mount busy
      writer.close();
    }
    store.unmountContainerRootfs(cid);
    const upper = join(store.containerDir(cid), 'upper');
    if (!existsSync(upper)) return undefined;
    return commitDirAsLayer(store, b.lease, upper, b.layerOptions(b.stepText(ins)));
  });
}

/** Paths in another image's rootfs matching `pattern` (wildcards per component). */
function globInRoot(root: string, pattern: string): string[] {
  const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
  if (!parts.some(hasGlobMeta)) {
    const host = resolveInRoot(root, pattern);
    return exists(host) ? [host] : [];
  }
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (!hasGlobMeta(part)) {
        next.push(`${base}/${part}`);
        continue;
      }
      const glob = compileGlob(part, { what: 'COPY --from source' });
      const dir = resolveInRoot(root, base || '/');
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        // not a directory in that image: nothing matches below it
      }
      for (const n of names.sort()) if (glob.test(n)) next.push(`${base}/${n}`);
    }
    current = next;
  }
  return current.map((p) => resolveInRoot(root, p)).filter(exists);
}

/** Present, dangling symlinks included (a COPY copies the link itself). */
function exists(host: string): boolean {
  return lstatSync(host, { throwIfNoEntry: false }) !== undefined;
}
