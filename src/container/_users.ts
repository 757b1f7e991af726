// Resolve `-u user[:group]` against the image's /etc/passwd and /etc/group, read as data from
// the rootfs with every path resolved inside it: nothing runs chrooted in the container
// (CVE-2019-14271) and no symlink can point the lookup at the host's files.
import { closeSync, constants as fsc, fstatSync, openSync, readSync } from 'node:fs';
import { InvalidArgumentError } from '../errors/index.js';
import { resolveInRoot } from '../util/index.js';

const MAX_DB_BYTES = 4 * 1024 * 1024;

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
  /** The name when the image knows one. */
  name?: string;
}

function readDb(rootfs: string, path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(resolveInRoot(rootfs, path), fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const size = Math.min(st.size, MAX_DB_BYTES);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function rows(text: string | undefined): string[][] {
  if (!text) return [];
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

const NUMERIC = /^\d+$/;
const MAX_ID = 2 ** 32 - 2;

function numericId(text: string, what: string): number {
  const n = Number(text);
  if (n > MAX_ID) throw new InvalidArgumentError(`invalid ${what} "${text}": out of range`);
  return n;
}

/**
 * docker semantics: empty → root; a name must exist in /etc/passwd, a number need not; the
 * group defaults to the user's primary group, or 0 for a uid the image does not know;
 * supplementary groups come from /etc/group membership.
 */
export function resolveUser(rootfs: string, spec: string | undefined): ResolvedUser {
  const text = (spec ?? '').trim();
  const [userPart, groupPart] =
    text === '' ? ['0', undefined] : (text.split(':', 2) as [string, string | undefined]);
  if (userPart === '' || (groupPart !== undefined && groupPart === '')) {
    throw new InvalidArgumentError(`invalid user "${spec}": expected USER[:GROUP] by name or number`);
  }
  const passwd = rows(readDb(rootfs, '/etc/passwd'));
  const groups = rows(readDb(rootfs, '/etc/group'));
  let uid: number;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  const byName = passwd.find((r) => r[0] === userPart);
  const byId = NUMERIC.test(userPart) ? passwd.find((r) => r[2] === userPart) : undefined;
  const entry = NUMERIC.test(userPart) ? byId : byName;
  if (NUMERIC.test(userPart)) {
    uid = numericId(userPart, 'user');
  } else if (byName) {
    uid = numericId(byName[2] ?? '', 'user');
  } else {
    throw new InvalidArgumentError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (entry) {
    name = entry[0];
    gid = NUMERIC.test(entry[3] ?? '') ? numericId(entry[3]!, 'group') : 0;
    home = entry[5] || '/';
  }
  if (groupPart !== undefined) {
    if (NUMERIC.test(groupPart)) gid = numericId(groupPart, 'group');
    else {
      const g = groups.find((r) => r[0] === groupPart);
      if (!g || !NUMERIC.test(g[2] ?? ''))
        throw new InvalidArgumentError(
          `unable to find group ${groupPart}: no matching entries in group file`,
        );
      gid = numericId(g[2]!, 'group');
    }
  }
  const additionalGids = name
    ? groups
        .filter((g) => (g[3] ?? '').split(',').includes(name!) && NUMERIC.test(g[2] ?? ''))
        .map((g) => Number(g[2]))
        .filter((g) => g !== gid)
    : [];
  return { uid, gid, additionalGids: [...new Set(additionalGids)], home, ...(name ? { name } : {}) };
}
