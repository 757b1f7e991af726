import { describeError } from '../../../errors/index.js';
import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'wait CONTAINER [CONTAINER...]',
  description: 'Block until one or more containers stop, then print their exit codes',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs) {
  const engine = await ctx.engine();
  let failed = false;
  for (const name of args) {
    try {
      ctx.stdout.write(`${await engine.waitContainer(name)}\n`);
    } catch (err) {
      failed = true;
      ctx.stderr.write(`Error: ${describeError(err)}\n`);
    }
  }
  return failed ? 1 : 0;
}
