import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'pause CONTAINER [CONTAINER...]',
  description: 'Pause all processes within one or more containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs) {
  const engine = await ctx.engine();
  return forEachName(ctx, args, (n) => engine.pauseContainer(n));
}
