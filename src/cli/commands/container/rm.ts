import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    {
      name: 'force',
      short: 'f',
      type: 'bool',
      description: 'Force the removal of a running container (uses SIGKILL)',
    },
    {
      name: 'volumes',
      short: 'v',
      type: 'bool',
      description: 'Remove anonymous volumes associated with the container',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  return forEachName(ctx, args, (n) =>
    engine.removeContainer(n, { force: bool(flags, 'force'), volumes: bool(flags, 'volumes') }),
  );
}
