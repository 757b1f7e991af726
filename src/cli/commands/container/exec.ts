import type { ExecSession } from '../../../engine/index.js';
import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { launchExitCode } from './_attach.js';

export const spec: CommandSpec = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  args: { min: 2, max: Number.POSITIVE_INFINITY },
  stopAtFirstPositional: true,
  flags: [
    { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: run command in the background' },
    { name: 'env', short: 'e', type: 'list', value: 'list', description: 'Set environment variables' },
    { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
    { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
    {
      name: 'user',
      short: 'u',
      type: 'string',
      value: 'string',
      description: 'Username or UID (format: "<name|uid>[:<group|gid>]")',
    },
    {
      name: 'workdir',
      short: 'w',
      type: 'string',
      value: 'string',
      description: 'Working directory inside the container',
    },
  ],
};

/** `-e NAME` without a value takes NAME from berth's own environment, as docker does. */
function envEntries(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.includes('=')) out.push(v);
    else if (process.env[v] !== undefined) out.push(`${v}=${process.env[v]}`);
  }
  return out;
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const [container, ...command] = args as [string, ...string[]];
  const detach = bool(flags, 'detach');
  const tty = bool(flags, 'tty');
  const stdin = bool(flags, 'interactive') && !detach;
  const user = str(flags, 'user');
  const workdir = str(flags, 'workdir');
  const rawTty = tty && stdin && process.stdin.isTTY === true;
  let session: ExecSession | undefined;
  // a pseudo-terminal without a size (script(1) with no real terminal) reports 0x0: keep the default
  const size = () =>
    ctx.stdout.isTTY && ctx.stdout.rows > 0 && ctx.stdout.columns > 0
      ? { rows: ctx.stdout.rows, cols: ctx.stdout.columns }
      : undefined;
  const onResize = () => {
    const now = size();
    if (now) session?.resize(now);
  };
  const initial = tty ? size() : undefined;
  try {
    session = engine.execInContainer(container, {
      args: command,
      env: envEntries(list(flags, 'env')),
      ...(user ? { user } : {}),
      ...(workdir ? { workdir } : {}),
      tty,
      stdin,
      detach,
      ...(detach
        ? {}
        : { stdio: { stdout: ctx.stdout, stderr: ctx.stderr, ...(stdin ? { stdin: process.stdin } : {}) } }),
      ...(initial ? { size: initial } : {}),
    });
    if (rawTty) process.stdin.setRawMode(true);
    if (tty && ctx.stdout.isTTY) process.on('SIGWINCH', onResize);
    const result = await session.result;
    return detach ? 0 : (result.exitCode ?? 0);
  } catch (err) {
    const launch = launchExitCode(err);
    if (launch === undefined) throw err;
    ctx.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return launch;
  } finally {
    process.off('SIGWINCH', onResize);
    if (rawTty) process.stdin.setRawMode(false);
    if (stdin) process.stdin.pause();
  }
}
