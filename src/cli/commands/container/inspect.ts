import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { FORMAT_FLAG } from '../_common.js';
import { printInspect } from '../image/inspect.js';

export const spec: CommandSpec = {
  usage: 'container inspect [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [{ ...FORMAT_FLAG, short: 'f' }],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  return printInspect(ctx, args, str(flags, 'format'), (ref) => engine.inspectContainer(ref));
}
