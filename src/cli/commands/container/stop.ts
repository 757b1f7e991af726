import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';
import { STOP_TIME_FLAG, stopTimeout } from './_stop-flags.js';

export const spec: CommandSpec = {
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Stop one or more running containers (stop signal, then SIGKILL after the timeout)',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [STOP_TIME_FLAG],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const timeout = stopTimeout(flags);
  const engine = await ctx.engine();
  return forEachName(ctx, args, (n) => engine.stopContainer(n, { timeout }));
}
