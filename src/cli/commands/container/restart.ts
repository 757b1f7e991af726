import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';
import { STOP_TIME_FLAG, stopTimeout } from './_stop-flags.js';

export const spec: CommandSpec = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Restart one or more containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [STOP_TIME_FLAG],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const timeout = stopTimeout(flags);
  const engine = await ctx.engine();
  return forEachName(ctx, args, (n) => engine.restartContainer(n, { timeout }));
}
