import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Do not fail when a volume does not exist' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  return forEachName(ctx, args, async (n) => engine.removeVolume(n, { force: bool(flags, 'force') }));
}
