import { flags as parse } from '../../../engine/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName, STOP_TIME_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Restart one or more containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [STOP_TIME_FLAG],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const t = str(flags, 'time');
  const timeout = t === undefined ? undefined : parse.parseInteger(t, '--time', { min: 0 });
  const engine = await ctx.engine();
  return forEachName(ctx, args, async (n) => {
    await engine.containers.stop(n, timeout);
    await engine.containers.start(n);
  });
}
