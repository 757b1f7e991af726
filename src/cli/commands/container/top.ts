import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { table } from '../../render.js';

export const spec: CommandSpec = {
  usage: 'top CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  // everything after the container goes to ps, e.g. `top c -o pid,comm,args`
  stopAtFirstPositional: true,
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const [container, ...psArgs] = args as [string, ...string[]];
  const top = engine.topContainer(container, psArgs);
  ctx.stdout.write(table(top.Titles, top.Processes));
  return 0;
}
