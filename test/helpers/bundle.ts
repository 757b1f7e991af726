// A minimal OCI bundle rootfs for runtime tests: static busybox with every applet, passwd and
// group files, and the security probe (test/helpers/probe.c) compiled statically. The compiled
// probe is cached in the OS temp dir, keyed by the source's sha256, so it is built once.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** test/helpers/probe.c, found from this module whether it runs from build/ or from source. */
export function probeSourcePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'test', 'helpers', 'probe.c');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new Error('test/helpers/probe.c not found');
}

let compiling: Promise<string> | undefined;

/**
 * Path of the compiled probe binary (static), compiling it if the cache lacks this source's
 * build. Throws when gcc is missing, so a test can skip with that reason.
 */
export function compiledProbe(): Promise<string> {
  compiling ??= (async () => {
    const source = probeSourcePath();
    const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
    const out = join(tmpdir(), `berth-probe-${hash}`);
    if (existsSync(out)) return out;
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      await execFileP('gcc', ['-static', '-O2', '-o', tmp, source]);
    } catch (err) {
      rmSync(tmp, { force: true });
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error('gcc is not installed: cannot build the security probe');
      throw new Error(`cannot build the security probe: ${e.stderr?.trim() || e.message}`);
    }
    renameSync(tmp, out);
    return out;
  })();
  compiling.catch(() => {
    compiling = undefined;
  });
  return compiling;
}

async function busyboxApplets(): Promise<string[]> {
  const { stdout } = await execFileP('/bin/busybox', ['--list']);
  return stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
}

export interface BusyboxBundle {
  /** Host path of the rootfs (`<dir>/rootfs`); config.json goes in `dir`. */
  rootfs: string;
  /** Path of the probe inside the container: `/bin/probe`. */
  probe: string;
}

/** Writes `<dir>/rootfs` with busybox, /etc/passwd, /etc/group and /bin/probe. */
export async function makeBusyboxBundle(dir: string): Promise<BusyboxBundle> {
  const probe = await compiledProbe();
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'dev', 'proc', 'sys', 'mnt', 'root', 'tmp', 'var/tmp']) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  chmodSync(join(rootfs, 'root'), 0o700);
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of await busyboxApplets()) {
    const link = join(rootfs, 'bin', applet);
    if (!existsSync(link)) symlinkSync('busybox', link);
  }
  copyFileSync(probe, join(rootfs, 'bin', 'probe'));
  chmodSync(join(rootfs, 'bin', 'probe'), 0o755);
  writeFileSync(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  return { rootfs, probe: '/bin/probe' };
}
