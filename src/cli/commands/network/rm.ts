import { hasCode } from '../../../errors/index.js';
import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'network rm [OPTIONS] NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Do not error if the network does not exist' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  const force = bool(flags, 'force');
  return forEachName(ctx, args, async (n) => {
    try {
      await engine.removeNetwork(n);
    } catch (err) {
      if (!(force && hasCode(err, 'NOT_FOUND'))) throw err;
    }
  });
}
