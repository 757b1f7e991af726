import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RuntimeBinary {
  name: string;
  path: string;
  version: string | undefined;
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** OCI runtimes (runc, crun) and conmon found on PATH, with their versions. */
export function findRuntimes(names: string[] = ['runc', 'crun', 'conmon']): RuntimeBinary[] {
  const out: RuntimeBinary[] = [];
  for (const name of names) {
    const path = which(name);
    if (!path) continue;
    let version: string | undefined;
    try {
      const text = execFileSync(path, ['--version'], {
        encoding: 'utf8',
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      version = /version\s+v?([0-9][^\s]*)/i.exec(text)?.[1];
    } catch {
      version = undefined;
    }
    out.push({ name, path, version });
  }
  return out;
}
