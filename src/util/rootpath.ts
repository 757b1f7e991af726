import { lstatSync, readlinkSync } from 'node:fs';
import { UnsafePathError } from '../errors/index.js';

const MAX_SYMLINKS = 40;

/**
 * Resolve `path` as if `root` were `/`: `..` never climbs above the root and symlinks are
 * followed inside it (absolute targets re-rooted), component by component with lstat, so a
 * container cannot point a lookup at the host (CVE-2018-15664, CVE-2019-14271 class).
 * Returns the host path; the last component need not exist.
 */
export function resolveInRoot(root: string, path: string): string {
  const rootClean = root.replace(/\/+$/, '') || '/';
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = `${rootClean}/${[...resolved, part].join('/')}`;
    const st = lstatSync(candidate, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new UnsafePathError(`too many levels of symbolic links in "${path}"`);
      const target = readlinkSync(candidate);
      if (target.startsWith('/')) resolved.length = 0;
      pending = [...target.split('/').filter((p) => p !== '' && p !== '.'), ...pending];
      continue;
    }
    resolved.push(part);
  }
  return resolved.length === 0 ? rootClean : `${rootClean}/${resolved.join('/')}`;
}
