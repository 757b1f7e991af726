import { NotFoundError } from '../../../errors/index.js';
import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { portCommandLines } from '../../render.js';

export const spec: CommandSpec = {
  usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const ports = await engine.containerPorts(args[0]!);
  const wanted = args[1];
  const lines = portCommandLines(ports, wanted);
  if (wanted !== undefined && lines.length === 0) {
    const info = await engine.inspectContainer(args[0]!);
    const port = wanted.includes('/') ? wanted : `${wanted}/tcp`;
    throw new NotFoundError(`no public port '${port}' published for ${info.Name.slice(1)}`);
  }
  for (const l of lines) ctx.stdout.write(`${l}\n`);
  return 0;
}
