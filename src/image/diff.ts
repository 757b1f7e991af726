// `image diff`: where two images (typically two builds of one Dockerfile) stop being the same.
// Steps are paired by position; for a layer that differs, the paths whose type, owner, mode,
// link target or content differ are listed, read from the two unpacked layer dirs.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Digest } from '../oci/index.js';
import type { ImageRecord, Store } from '../store/index.js';
import { readImageConfig } from './inspect.js';

export interface ImageDiffStep {
  /** 1-based position among the history entries. */
  step: number;
  createdBy: string;
  /** diffIDs, when the step made a layer in that image. */
  a?: string;
  b?: string;
  same: boolean;
  /** Paths that differ inside the step's layers (capped). */
  paths: string[];
}

export interface ImageDiff {
  same: boolean;
  steps: ImageDiffStep[];
  /** Config fields (Env, Cmd, ...) and top-level fields that differ. */
  config: string[];
}

const MAX_PATHS = 50;

function fingerprint(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string): void => {
    for (const name of readdirSync(`${dir}${rel}`)) {
      const path = `${rel}/${name}`;
      const st = lstatSync(`${dir}${path}`);
      let what = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) what += ` -> ${readlinkSync(`${dir}${path}`)}`;
      else if (st.isFile())
        what += ` ${createHash('sha256')
          .update(readFileSync(`${dir}${path}`))
          .digest('hex')}`;
      else if (st.isCharacterDevice() || st.isBlockDevice()) what += ` dev ${st.rdev}`;
      out.set(path, what);
      if (st.isDirectory()) visit(path);
    }
  };
  visit('');
  return out;
}

function differingPaths(store: Store, a: string, b: string): string[] {
  const la = store.getLayer(a as Digest);
  const lb = store.getLayer(b as Digest);
  if (!la || !lb) return [];
  const fa = fingerprint(la.path);
  const fb = fingerprint(lb.path);
  const out: string[] = [];
  for (const p of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const x = fa.get(p);
    const y = fb.get(p);
    if (x === y) continue;
    out.push(`${x === undefined ? 'only in B' : y === undefined ? 'only in A' : 'differs'}: ${p}`);
    if (out.length >= MAX_PATHS) break;
  }
  return out;
}

export async function diffImages(store: Store, a: ImageRecord, b: ImageRecord): Promise<ImageDiff> {
  const ca = await readImageConfig(store, a);
  const cb = await readImageConfig(store, b);
  const walk = (c: typeof ca) => {
    let layer = 0;
    return (c.history ?? []).map((h) => ({
      createdBy: h.created_by ?? '',
      diffId: h.empty_layer ? undefined : c.rootfs.diff_ids[layer++],
    }));
  };
  const ha = walk(ca);
  const hb = walk(cb);
  const steps: ImageDiffStep[] = [];
  for (let i = 0; i < Math.max(ha.length, hb.length); i++) {
    const x = ha[i];
    const y = hb[i];
    const same = x !== undefined && y !== undefined && x.createdBy === y.createdBy && x.diffId === y.diffId;
    const paths = !same && x?.diffId && y?.diffId ? differingPaths(store, x.diffId, y.diffId) : [];
    steps.push({
      step: i + 1,
      createdBy: (x ?? y)!.createdBy,
      ...(x?.diffId ? { a: x.diffId } : {}),
      ...(y?.diffId ? { b: y.diffId } : {}),
      same,
      paths,
    });
  }
  const config: string[] = [];
  const keys = new Set([...Object.keys(ca.config ?? {}), ...Object.keys(cb.config ?? {})]);
  for (const k of [...keys].sort()) {
    const va = JSON.stringify((ca.config as Record<string, unknown> | undefined)?.[k]);
    const vb = JSON.stringify((cb.config as Record<string, unknown> | undefined)?.[k]);
    if (va !== vb) config.push(`Config.${k}`);
  }
  for (const k of ['created', 'author', 'architecture', 'os', 'variant'] as const) {
    if (JSON.stringify(ca[k]) !== JSON.stringify(cb[k])) config.push(k);
  }
  return { same: a.id === b.id, steps, config };
}
