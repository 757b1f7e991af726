import type { StoredContainerConfig } from '../../../engine/index.js';
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
  const rec = engine.containers.get(args[0]!);
  if (rec.state === 'paused') {
    throw new ConflictError(`cannot attach to container ${rec.name}: it is paused, unpause it first`);
  }
  if (rec.state !== 'running') {
    throw new ConflictError(`cannot attach to container ${rec.name}: it is not running, start it first`);
  }
  const options = (rec.config as StoredContainerConfig).options;
  const tty = options.tty === true;
  const stdin = options.interactive === true && !bool(flags, 'no-stdin');
  const attached = await attachStdio(ctx, engine, rec.id, { tty, stdin });
  // with a TTY, ^C is input for the container, not a signal to forward
  const stopForwarding = flags['sig-proxy'] !== false && !tty ? forwardSignals(engine, rec.id) : () => {};
  try {
    await attached.done;
    return await engine.containers.wait(rec.id);
  } finally {
    stopForwarding();
  }
}
