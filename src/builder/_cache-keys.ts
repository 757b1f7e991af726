// Cache keys of layer steps and the cache lookup: a key is chained from the parent state and
// covers every input the step reads, and a hit is used only when its layer is whole.

import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  lstatSync,
  readdirSync,
  readlinkSync,
  type Stats,
  statSync,
} from 'node:fs';
import { NotFoundError } from '../errors/index.js';
import type { HistoryEntry } from '../oci/index.js';
import type { ImageLayerRef } from '../store/index.js';
import { resolveInRoot } from '../util/index.js';
import { download } from './_add.js';
import type { CopyInstruction, RunInstruction, Stage } from './_ast.js';
import { commandText, HISTORY_COMMENT, type StageState, sha } from './_build-types.js';
import { chmodOf, isUrl, resolveContextSources } from './_copy.js';
import type { Build } from './_executor.js';
import type { RunMount } from './_expand.js';
import { runMounts } from './_run.js';

/** Run a layer-producing step through the cache. */
export async function layerStep(
  b: Build,
  state: StageState,
  id: number,
  text: string,
  key: string,
  exec: () => Promise<ImageLayerRef | undefined>,
): Promise<void> {
  const cached = b.req.noCache ? undefined : await cacheHit(b, key);
  let layer: ImageLayerRef | undefined;
  if (cached) {
    layer = cached.layer;
    b.emit({ type: 'cached', id });
  } else {
    const previous = b.req.noCache ? b.deps.store.getBuildCache(key) : undefined;
    layer = await exec();
    if (previous && previous.layer?.diffId !== layer?.diffId) {
      // same inputs, different output: the step itself is not deterministic
      b.warn(
        `step "${text}" is not reproducible: with the same inputs it made layer ${layer?.diffId.slice(7, 19) ?? '(none)'}, before ${previous.layer?.diffId.slice(7, 19) ?? '(none)'}; compare the images with \`berth image diff\``,
      );
    }
    b.deps.store.putBuildCache({ key, createdBy: text, ...(layer ? { layer } : {}) });
  }
  state.chain = key;
  const history: HistoryEntry = { created: b.created, created_by: text, comment: HISTORY_COMMENT };
  if (layer) {
    state.layers.push(layer);
    state.config.rootfs = { type: 'layers', diff_ids: [...state.config.rootfs.diff_ids, layer.diffId] };
  } else {
    history.empty_layer = true;
  }
  state.config.history = [...(state.config.history ?? []), history];
}

/**
 * A cache entry is used only if its layer is whole: the layer dir is in the store and the
 * blob hashes to its digest. Anything else is a poisoned entry: dropped and rebuilt.
 */
export async function cacheHit(b: Build, key: string): Promise<{ layer?: ImageLayerRef } | undefined> {
  const store = b.deps.store;
  const entry = store.getBuildCache(key);
  if (!entry) return undefined;
  if (!entry.layer) return {};
  const l = entry.layer;
  b.lease.addLayer(l.diffId);
  b.lease.addBlob(l.blobDigest);
  const rec = store.getLayer(l.diffId);
  let ok = rec !== undefined && existsSync(rec.path) && store.hasBlob(l.blobDigest);
  if (ok) {
    const h = createHash('sha256');
    let size = 0;
    try {
      for await (const c of createReadStream(store.blobPath(l.blobDigest))) {
        h.update(c as Buffer);
        size += (c as Buffer).length;
      }
      ok = `sha256:${h.digest('hex')}` === l.blobDigest && size === l.compressedSize;
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    store.dropBuildCache(key);
    b.warn(
      `cache entry for a step was damaged (layer ${l.diffId.slice(7, 19)} missing or corrupt): rebuilding it`,
    );
    return undefined;
  }
  return { layer: l };
}

/**
 * A RUN step's key covers what BuildKit's ExecOp key covers: the command and its heredocs, the
 * build args it sees, --network and --security, and every mount (`mountKey`). Secret values
 * and cache-mount contents are never part of it, by design.
 */
export async function runKey(
  b: Build,
  stage: Stage,
  state: StageState,
  ins: RunInstruction,
): Promise<string> {
  const argsEnv = [...state.args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const mounts: unknown[] = [];
  for (const m of runMounts(state, ins)) mounts.push(await mountKey(b, stage, m));
  return sha(
    state.chain,
    'RUN',
    commandText(ins.command),
    JSON.stringify(ins.heredocs),
    JSON.stringify(mounts),
    ins.network ?? b.req.network ?? 'host',
    ins.security ?? 'sandbox',
    JSON.stringify(argsEnv),
  );
}

/**
 * One mount's part of a RUN key: every option of its spec, canonically ordered (target, id,
 * sharing, mode, uid/gid, size, required, readonly, from, source), and for a bind mount the
 * content it shows: a context source by the digest of its files (names, modes, owners,
 * content), another stage or an image by its result digest.
 */
export async function mountKey(b: Build, stage: Stage, m: RunMount): Promise<unknown[]> {
  const spec = runMountSpecKey(m);
  if (m.type !== 'bind') return [spec];
  if (m.from !== undefined) return [spec, 'from', (await b.imageFor(m.from, stage.index)).id];
  return [spec, 'context', await contextSourceDigest(b, m.source ?? '/')];
}

/** A mount spec's options as sorted [name, value] pairs (a mount written two ways keys alike). */
export function runMountSpecKey(m: RunMount): [string, unknown][] {
  return Object.entries(m)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The digest of what a bind mount from the context shows: the source as resolved inside the
 * context root (the same path runMount binds), walked with lstat only (links by their target
 * text, never followed), every name, type, mode, owner and file content. It is the directory as
 * it is on disk, so a file .dockerignore names counts too: the mount shows it.
 */
async function contextSourceDigest(b: Build, source: string): Promise<string> {
  const root = resolveInRoot(b.context.root, source);
  if (lstatSync(root, { throwIfNoEntry: false }) === undefined)
    throw new NotFoundError(`RUN --mount source "${source}" not found in the build context`);
  const h = createHash('sha256');
  const record = (fields: unknown[]): void => {
    h.update(`${JSON.stringify(fields)}\n`);
  };
  record(['berth-bind-source/v1']);
  const visit = async (path: string, rel: string, st: Stats): Promise<void> => {
    const head = [rel, st.mode & 0o7777, st.uid, st.gid];
    if (st.isSymbolicLink()) record([...head, 'symlink', readlinkSync(path)]);
    else if (st.isFile()) record([...head, 'file', await fileDigest(path)]);
    else if (st.isDirectory()) {
      record([...head, 'dir']);
      const names = readdirSync(path).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      for (const name of names) {
        const child = `${path}/${name}`;
        await visit(child, rel === '' ? name : `${rel}/${name}`, lstatSync(child));
      }
    } else record([...head, 'other', st.rdev]);
  };
  // the source itself is followed, as the mount binds what it names; nothing below it is
  await visit(root, '', statSync(root));
  return `sha256:${h.digest('hex')}`;
}

async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export async function copyKey(
  b: Build,
  stage: Stage,
  state: StageState,
  ins: CopyInstruction,
): Promise<string> {
  const parts = [state.chain, ins.kind, JSON.stringify({ ...ins, loc: undefined, original: undefined })];
  chmodOf(ins);
  const local = ins.sources.filter((s) => !s.startsWith('<<') && !isUrl(s));
  if (ins.from) {
    const image = await b.imageFor(ins.from, stage.index);
    parts.push('from', image.id);
  } else if (local.length > 0) {
    const entries = await resolveContextSources(b, local, ins);
    parts.push('context', await b.context.sourcesDigest(entries, { includeOwners: false }));
  }
  if (ins.kind === 'ADD') {
    for (const u of ins.sources.filter((s) => isUrl(s))) {
      if (!ins.checksum) {
        // without a checksum the content is only known by downloading it
        const got = await download(b, u);
        parts.push('url', u, got.digest.slice('sha256:'.length));
      } else parts.push('url', u, ins.checksum);
    }
  }
  return sha(...parts);
}
