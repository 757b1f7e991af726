import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'rename CONTAINER NEW_NAME',
  description: 'Rename a container',
  args: { min: 2, max: 2 },
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs) {
  const engine = await ctx.engine();
  await engine.renameContainer(args[0]!, args[1]!);
  return 0;
}
