import { ConflictError } from '../../../errors/index.js';
import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { attachStdio, forwardSignals } from './_attach.js';

export const spec: CommandSpec = {
  usage: 'attach [OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'no-stdin', type: 'bool', description: 'Do not attach STDIN' },
    {
      name: 'sig-proxy',
      type: 'bool',
      default: true,
      description: 'Proxy all received signals to the process',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const info = await engine.inspectContainer(args[0]!);
  const name = info.Name.slice(1);
  if (info.State.Status === 'paused') {
    throw new ConflictError(`cannot attach to container ${name}: it is paused, unpause it first`);
  }
  if (info.State.Status !== 'running') {
    throw new ConflictError(`cannot attach to container ${name}: it is not running, start it first`);
  }
  const tty = info.Config.Tty;
  const stdin = info.Config.OpenStdin && !bool(flags, 'no-stdin');
  const attached = await attachStdio(ctx, engine, info.Id, { tty, stdin });
  // with a TTY, ^C is input for the container, not a signal to forward
  const stopForwarding = flags['sig-proxy'] !== false && !tty ? forwardSignals(engine, info.Id) : () => {};
  try {
    await attached.done;
    return await engine.waitContainer(info.Id);
  } finally {
    stopForwarding();
  }
}
