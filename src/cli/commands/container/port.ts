import { flags as parse } from '../../../engine/index.js';
import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const ports = await engine.containerPorts(args[0]!);
  const name = (await engine.inspectContainer(args[0]!)).Name.slice(1);
  for (const l of parse.portCommandLines(ports, args[1], { name })) ctx.stdout.write(`${l}\n`);
  return 0;
}
