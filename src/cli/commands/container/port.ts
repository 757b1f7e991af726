import { NotFoundError } from '../../../errors/index.js';
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
  // only the none/host/container: network modes exist so far, and none of them publishes ports
  const info = await engine.inspectContainer(args[0]!);
  const wanted = args[1];
  if (wanted !== undefined) {
    const port = wanted.includes('/') ? wanted : `${wanted}/tcp`;
    throw new NotFoundError(`no public port '${port}' published for ${info.Name.slice(1)}`);
  }
  return 0;
}
