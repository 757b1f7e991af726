// Overlay rootfs mounts for containers. The option string names every lower layer by its short
// link relative to the store root (`l/<26 chars>`), and the mount(2) call runs with the store
// root as the working directory, so a deep image stays under the kernel's one-page limit on
// mount data. Whether something is mounted is read from /proc/self/mountinfo.
import { readFileSync, realpathSync } from 'node:fs';
import { errnoCode, IOError, UnsupportedError } from '../errors/index.js';
import { MNT_DETACH, MS_RDONLY, mount, umount } from '../util/index.js';

/** mount(2) copies at most one page of option data; the string and its NUL must fit. */
export const MOUNT_DATA_LIMIT = 4096;

/**
 * The overlay option string. `lowers` are paths relative to the store root, TOP layer first
 * (overlay's order); `upper` and `work` too.
 */
export function overlayMountData(paths: { lowers: string[]; upper: string; work: string }): string {
  for (const p of [...paths.lowers, paths.upper, paths.work]) {
    // overlay splits lowerdir on ':' and the option list on ','; our own paths never hold either
    if (/[:,\\]/.test(p) || p.length === 0) {
      throw new UnsupportedError(`cannot use "${p}" in overlay mount options`);
    }
  }
  return `lowerdir=${paths.lowers.join(':')},upperdir=${paths.upper},workdir=${paths.work}`;
}

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  /** Per-mount options ('rw' or 'ro' first). */
  options: string[];
  /** Filesystem options (for overlay: lowerdir=…,upperdir=…). */
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function readMountInfo(): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    out.push({
      mountPoint: unescapeMountField(left[4] ?? ''),
      fsType: right[0] ?? '',
      options: (left[5] ?? '').split(','),
      superOptions: right[2] ?? '',
    });
  }
  return out;
}

/** The real path of `path`, or undefined if it does not exist. */
function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The topmost mount at `path` (the one a lookup sees), if any. */
export function mountAt(path: string): MountInfo | undefined {
  const real = realPath(path);
  if (real === undefined) return undefined;
  let found: MountInfo | undefined;
  for (const m of readMountInfo()) if (m.mountPoint === real) found = m;
  return found;
}

/** Mount points at or below `dir` (real paths), deepest first so they can be unmounted in order. */
export function mountsBelow(dir: string): string[] {
  const real = realPath(dir);
  if (real === undefined) return [];
  const points = readMountInfo()
    .map((m) => m.mountPoint)
    .filter((p) => p === real || p.startsWith(`${real}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** mount(2) an overlay with `cwd` as the working directory, so relative option paths resolve there. */
export function mountOverlayAt(
  target: string,
  options: { cwd: string; data: string; readOnly?: boolean },
): void {
  const { cwd, data } = options;
  if (Buffer.byteLength(data) + 1 > MOUNT_DATA_LIMIT) {
    throw new UnsupportedError(
      `overlay options for "${target}" are ${Buffer.byteLength(data)} bytes, over the kernel's ${MOUNT_DATA_LIMIT - 1}-byte limit`,
      { hint: 'the image has too many layers; squash some of them' },
    );
  }
  let previous: string | undefined;
  try {
    previous = process.cwd();
  } catch {
    // our working directory was deleted; there is nothing to go back to but '/'
  }
  // synchronous from chdir to chdir: no other JavaScript of this process runs in between
  process.chdir(cwd);
  try {
    mount('overlay', target, 'overlay', { flags: options.readOnly ? MS_RDONLY : 0n, data });
  } finally {
    process.chdir(previous ?? '/');
  }
}

/**
 * Unmount everything mounted at `target`; a busy mount is detached (lazily unmounted) instead.
 * Returns without error when nothing is mounted there.
 */
export function unmountAll(target: string): void {
  // overlapping mounts stack: unmount until none is left (bounded, in case one refuses to go)
  for (let i = 0; i < 16 && mountAt(target); i++) {
    try {
      umount(target);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EBUSY') umount(target, MNT_DETACH);
      else if (code !== 'EINVAL' && code !== 'ENOENT') throw err;
    }
  }
}

/** Unmount everything mounted at or below `dir`; `what` names its owner in the error. */
export function unmountBelow(dir: string, what: string): void {
  for (const m of mountsBelow(dir)) {
    try {
      unmountAll(m);
    } catch (err) {
      throw new IOError(`cannot unmount "${m}" of ${what}`, { cause: err });
    }
  }
}
