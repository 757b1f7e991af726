import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'diff CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  args: { min: 1, max: 1 },
  flags: [],
};

const KIND = ['C', 'A', 'D'] as const;

export async function run(ctx: CommandContext, { args }: ParsedArgs) {
  const engine = await ctx.engine();
  const changes = engine.containerChanges(args[0]!);
  ctx.stdout.write(changes.map((c) => `${KIND[c.Kind]} ${c.Path}\n`).join(''));
  return 0;
}
