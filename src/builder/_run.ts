// RUN: a real container over the stage's rootfs, with its --mount specs turned into mounts;
// its upper dir becomes the step's layer.

import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { MountSpec } from '../container/index.js';
import { BuildFailedError, InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors/index.js';
import type { ImageLayerRef } from '../store/index.js';
import { type FileLock, resolveInRoot } from '../util/index.js';
import type { RunInstruction, Stage } from './_ast.js';
import { outputTails, RUNTIME_MOUNT_POINTS, type StageState } from './_build-types.js';
import type { Build } from './_executor.js';
import { parseRunMount, type RunMount } from './_expand.js';
import { removeMountStubs } from './_fsops.js';
import { commitDirAsLayer } from './_layer.js';

export function runMounts(state: StageState, ins: RunInstruction): RunMount[] {
  const workdir = state.config.config?.WorkingDir || '/';
  return ins.mounts.map((spec) => parseRunMount(spec, { workdir }));
}

export function runArgs(
  state: StageState,
  ins: RunInstruction,
  heredocHost: string,
): { args: string[]; mounts: MountSpec[] } {
  const c = ins.command;
  if (c.form === 'exec') return { args: c.args, mounts: [] };
  if (ins.heredocs.length === 0) return { args: [...state.shell, c.text], mounts: [] };
  const only = ins.heredocs.length === 1 && /^<<-?(["']?)[^\s"']+\1$/.test(c.text.trim());
  if (only) {
    const doc = ins.heredocs[0]!;
    if (doc.content.startsWith('#!')) {
      // a script with its own interpreter: run the file itself, as BuildKit does
      writeFileSync(heredocHost, doc.content, { mode: 0o755 });
      const target = `/dev/pipes-berth/${doc.name}`;
      return {
        args: [target],
        mounts: [{ type: 'bind', source: heredocHost, target, readOnly: true, options: [] }],
      };
    }
    return { args: [...state.shell, doc.content], mounts: [] };
  }
  // heredocs used as shell input: hand the shell the command and the bodies together
  let script = c.text;
  for (const d of ins.heredocs) script += `\n${d.content}${d.name}`;
  return { args: [...state.shell, script], mounts: [] };
}

export async function execRun(
  b: Build,
  stage: Stage,
  state: StageState,
  ins: RunInstruction,
  id: number,
): Promise<ImageLayerRef | undefined> {
  const store = b.deps.store;
  const containers = b.deps.containers;
  const image = await b.materialize(state);
  const mounts: MountSpec[] = [];
  const locks: FileLock[] = [];
  const stubTargets = [...RUNTIME_MOUNT_POINTS];
  const release: (() => Promise<void>)[] = [];
  const stepDir = join(b.secretDir, `step-${id}`);
  mkdirSync(stepDir, { recursive: true, mode: 0o700 });
  const { args, mounts: extra } = runArgs(state, ins, join(stepDir, 'heredoc'));
  mounts.push(...extra);
  stubTargets.push(...extra.map((m) => m.target));
  const env = b.envMap(state);
  const runEnv = [...state.args]
    .filter(([k, v]) => v !== undefined && !env.has(k))
    .map(([k, v]) => `${k}=${v}`);
  try {
    for (const m of runMounts(state, ins)) {
      mounts.push(await runMount(b, stage, m, { stepDir, locks, release, stubTargets }));
    }
    const insecure = ins.security === 'insecure';
    if (insecure && !(b.req.allow ?? []).includes('security.insecure')) {
      throw new InvalidArgumentError(
        'RUN --security=insecure needs the security.insecure entitlement: build with --allow security.insecure',
      );
    }
    const network = ins.network ?? b.req.network ?? 'host';
    if (network !== 'none' && network !== 'host' && network !== 'default') {
      throw new UnsupportedError(`RUN --network=${network} is not supported: use none or host`);
    }
    b.throwIfCancelled();
    const rec = await containers.create(image, `berth-build-${b.buildId}`, {
      image: image.id,
      command: args,
      entrypoint: '',
      env: runEnv,
      mounts,
      network: network === 'none' ? 'none' : 'host',
      hostname: 'buildkitsandbox',
      ...(insecure ? { privileged: true } : {}),
      labels: b.labels,
      ...(state.config.config?.User ? { user: state.config.config.User } : {}),
      ...(b.req.runtime ? { runtime: b.req.runtime } : {}),
    });
    const lowers = [...image.layers].reverse().map((d) => store.layerDiffPath(d));
    try {
      const tail: string[] = [];
      const code = await runAttached(b, rec.id, id, tail);
      // killed because the build was cancelled: say so, not "exit code 137"
      b.throwIfCancelled();
      if (code !== 0) {
        const cmd = args.join(' ');
        const err = new BuildFailedError(
          `process "${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd}" did not complete successfully: exit code: ${code}`,
          { exitCode: code },
        );
        outputTails.set(err, [...tail]);
        throw err;
      }
      const upper = join(store.containerDir(rec.id), 'upper');
      if (!existsSync(upper)) return undefined;
      removeMountStubs(upper, lowers, stubTargets);
      return await commitDirAsLayer(store, b.lease, upper, b.layerOptions(b.stepText(ins)));
    } finally {
      await containers.remove(rec.id, { force: true }).catch(() => {});
    }
  } finally {
    for (const l of locks) l.release();
    for (const r of release) await r().catch(() => {});
    rmSync(stepDir, { recursive: true, force: true });
  }
}

/** Start the container, stream its output as events until it exits; its exit code. */
export async function runAttached(
  b: Build,
  containerId: string,
  stepId: number,
  tail: string[],
): Promise<number> {
  const containers = b.deps.containers;
  const onAbort = () => {
    containers.kill(containerId, 'SIGKILL').catch(() => {});
  };
  b.signal.addEventListener('abort', onAbort);
  try {
    b.throwIfCancelled();
    await containers.start(containerId, { callerCleansUp: true });
    // a cancel while it was starting found nothing running to kill: kill it now
    if (b.signal.aborted) onAbort();
    const ac = new AbortController();
    const waiting = containers.wait(containerId).finally(() => ac.abort());
    waiting.catch(() => {});
    const partial: Record<string, string> = { stdout: '', stderr: '' };
    for await (const e of containers.logs(containerId, { follow: true, signal: ac.signal })) {
      const text = e.line.toString('utf8');
      if (e.partial) {
        partial[e.stream] += text;
        continue;
      }
      const line = partial[e.stream] + text;
      partial[e.stream] = '';
      tail.push(line);
      if (tail.length > 10) tail.shift();
      b.emit({ type: 'output', id: stepId, stream: e.stream === 'stderr' ? 'stderr' : 'stdout', line });
    }
    for (const s of ['stdout', 'stderr'] as const) {
      if (partial[s]) {
        tail.push(partial[s]);
        b.emit({ type: 'output', id: stepId, stream: s, line: partial[s] });
      }
    }
    return await waiting;
  } finally {
    b.signal.removeEventListener('abort', onAbort);
  }
}

export async function runMount(
  b: Build,
  stage: Stage,
  m: RunMount,
  ctx: { stepDir: string; locks: FileLock[]; release: (() => Promise<void>)[]; stubTargets: string[] },
): Promise<MountSpec> {
  switch (m.type) {
    case 'secret': {
      if (m.env) {
        throw new UnsupportedError(
          `RUN --mount=type=secret,env=${m.env}: secrets as environment variables are not supported (they would be stored with the container); mount the file instead`,
        );
      }
      const id = m.id ?? posix.basename(m.target ?? '');
      const secret = (b.req.secrets ?? []).find((s) => s.id === id);
      const target = m.target ?? `/run/secrets/${id}`;
      if (!secret) {
        if (m.required)
          throw new NotFoundError(`secret "${id}" not found: pass it with --secret id=${id},src=FILE`);
        // an optional secret that was not given: BuildKit mounts nothing
        return {
          type: 'tmpfs',
          source: '',
          target: `/run/berth-absent-secret-${randomBytes(4).toString('hex')}`,
          readOnly: true,
          options: [],
        };
      }
      const file = join(ctx.stepDir, `secret-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`);
      writeFileSync(file, secret.value, { mode: 0o600 });
      chownSync(file, m.uid, m.gid);
      chmodSync(file, m.mode);
      ctx.stubTargets.push(target);
      return { type: 'bind', source: file, target, readOnly: true, options: [] };
    }
    case 'tmpfs':
      ctx.stubTargets.push(m.target);
      return {
        type: 'tmpfs',
        source: '',
        target: m.target,
        readOnly: false,
        options: m.size !== undefined ? [`size=${m.size}`] : [],
      };
    case 'cache': {
      if (m.from || m.source) {
        throw new UnsupportedError('RUN --mount=type=cache with from= or source= is not supported yet');
      }
      const id = m.id ?? m.target;
      // locked (and private, which berth serializes the same way): one RUN at a time; shared:
      // many. Either way the lock is held for the RUN, so `builder prune` leaves the dir alone.
      ctx.locks.push(
        await b.deps.store.lockCacheMount(id, {
          shared: m.sharing === 'shared',
          timeoutMs: 3600_000,
          signal: b.signal,
        }),
      );
      const dir = b.deps.store.cacheMountDir(id, {
        mode: m.mode ?? 0o755,
        uid: m.uid ?? 0,
        gid: m.gid ?? 0,
      });
      ctx.stubTargets.push(m.target);
      return { type: 'bind', source: dir, target: m.target, readOnly: m.readonly, options: [] };
    }
    case 'bind': {
      if (m.readwrite) {
        throw new UnsupportedError(
          'RUN --mount=type=bind,rw is not supported: bind mounts are read-only in berth',
        );
      }
      ctx.stubTargets.push(m.target);
      if (m.from) {
        const image = await b.imageFor(m.from, stage.index);
        // keep the image's rootfs mounted for the RUN; released afterwards
        let resolveDone!: () => void;
        const done = new Promise<void>((r) => {
          resolveDone = r;
        });
        const mounted = new Promise<string>((resolveMount, reject) => {
          b.withRootfs(image, { readOnly: true }, async (rootfs) => {
            resolveMount(rootfs);
            await done;
          }).catch(reject);
        });
        const rootfs = await mounted;
        ctx.release.push(async () => resolveDone());
        return {
          type: 'bind',
          source: resolveInRoot(rootfs, m.source ?? '/'),
          target: m.target,
          readOnly: true,
          options: [],
        };
      }
      // context sources: resolved inside the context (CVE-2024-23651/23652 class)
      const source = resolveInRoot(b.context.root, m.source ?? '/');
      if (!existsSync(source))
        throw new NotFoundError(`RUN --mount source "${m.source}" not found in the build context`);
      return { type: 'bind', source, target: m.target, readOnly: true, options: [] };
    }
    case 'ssh':
      throw new UnsupportedError('RUN --mount=type=ssh is not supported: berth has no SSH agent forwarding');
    default:
      throw new InvalidArgumentError(`unknown RUN --mount type in "${JSON.stringify(m)}"`);
  }
}
