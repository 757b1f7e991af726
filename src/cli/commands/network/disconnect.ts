import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'network disconnect [OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  args: { min: 2, max: 2 },
  flags: [
    {
      name: 'force',
      short: 'f',
      type: 'bool',
      description: 'Do not fail when the container is not connected to the network',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const [network, container] = args as [string, string];
  const engine = await ctx.engine();
  await engine.disconnectNetwork(container, network, { force: bool(flags, 'force') });
  return 0;
}
