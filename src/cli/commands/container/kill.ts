import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Kill one or more running containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    {
      name: 'signal',
      short: 's',
      type: 'string',
      value: 'string',
      default: 'KILL',
      description: 'Signal to send to the container',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  const signal = str(flags, 'signal') ?? 'KILL';
  return forEachName(ctx, args, (n) => engine.killContainer(n, signal));
}
