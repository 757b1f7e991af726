import type { Engine } from '../../../engine/index.js';
import { describeError } from '../../../errors/index.js';
import type { CommandContext } from '../../context.js';

/** docker's exit code for a command that could not be launched (126) or found (127). */
export function launchExitCode(err: unknown): number | undefined {
  const code =
    err && typeof err === 'object' && 'exitCode' in err ? (err as { exitCode: unknown }).exitCode : undefined;
  return code === 126 || code === 127 ? code : undefined;
}

/** Report a failure of run/start the docker way: 126/127 for launch failures, else 125. */
export function runFailure(ctx: CommandContext, err: unknown): number {
  ctx.stderr.write(`Error: ${describeError(err)}\n`);
  return launchExitCode(err) ?? 125;
}

/** Forward SIGINT/SIGTERM to the container while attached (not with a TTY: ^C is input there). */
export function forwardSignals(engine: Engine, id: string): () => void {
  const forward = (sig: NodeJS.Signals) => {
    engine.killContainer(id, sig).catch(() => {});
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return () => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  };
}

/** Stream the container's output from its log until it exits; returns its exit code. */
export async function streamUntilExit(
  ctx: CommandContext,
  engine: Engine,
  id: string,
  since?: Date,
): Promise<number> {
  const ac = new AbortController();
  // conmon has written all output to the log before the exit file, so the follower can stop
  // at the end of the file as soon as the container has exited
  const waiting = engine.waitContainer(id).finally(() => ac.abort());
  // observed now, awaited after the output: a failure must not count as unhandled meanwhile
  waiting.catch(() => {});
  const entries = engine.containerLogs(id, { follow: true, signal: ac.signal, ...(since ? { since } : {}) });
  for await (const e of entries) {
    const out = e.stream === 'stderr' ? ctx.stderr : ctx.stdout;
    out.write(e.partial ? e.line : Buffer.concat([e.line, Buffer.from('\n')]));
  }
  return waiting;
}

/** Attach the terminal/stdin to a created container's conmon socket; resolves on exit. */
export async function attachStdio(
  ctx: CommandContext,
  engine: Engine,
  id: string,
  options: { tty: boolean; stdin: boolean },
): Promise<{ done: Promise<void> }> {
  const streams = await engine.attachContainer(id);
  streams.stdout.pipe(ctx.stdout, { end: false });
  streams.stderr.pipe(ctx.stderr, { end: false });
  if (options.stdin) {
    if (options.tty && process.stdin.isTTY) process.stdin.setRawMode(true);
    process.stdin.pipe(streams.stdin);
  }
  if (options.tty && ctx.stdout.isTTY) {
    const resize = () => {
      // a pseudo-terminal without a size (e.g. under `script`) reports 0x0: keep the default
      if (ctx.stdout.rows > 0 && ctx.stdout.columns > 0) {
        engine.resizeContainerTty(id, { rows: ctx.stdout.rows, cols: ctx.stdout.columns });
      }
    };
    resize();
    process.on('SIGWINCH', resize);
  }
  const done = streams.done.finally(() => {
    if (options.stdin) {
      process.stdin.unpipe(streams.stdin);
      if (options.tty && process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  });
  return { done };
}

/**
 * Start a created container attached the way `run` and `start -a` are: through conmon's socket
 * when there is a terminal or stdin, else by following its log; signals are forwarded unless a
 * TTY carries them. Returns the container's exit code, or docker's code for a start failure.
 */
export async function startAttached(
  ctx: CommandContext,
  engine: Engine,
  id: string,
  options: { tty: boolean; stdin: boolean; callerCleansUp?: boolean; onStartFailure?: () => Promise<void> },
): Promise<number> {
  let attached: { done: Promise<void> } | undefined;
  // what an earlier run of this container logged is not this run's output (docker start -a)
  const startedAt = new Date();
  try {
    await engine.startContainer(id, {
      ...(options.callerCleansUp ? { callerCleansUp: true } : {}),
      beforeStart:
        options.tty || options.stdin
          ? async () => {
              attached = await attachStdio(ctx, engine, id, { tty: options.tty, stdin: options.stdin });
            }
          : undefined,
    });
  } catch (err) {
    await options.onStartFailure?.();
    return runFailure(ctx, err);
  }
  const stopForwarding = options.tty ? () => {} : forwardSignals(engine, id);
  try {
    if (attached) {
      await attached.done;
      return await engine.waitContainer(id);
    }
    return await streamUntilExit(ctx, engine, id, startedAt);
  } finally {
    stopForwarding();
  }
}
