import { flags as parse } from '../../../engine/index.js';
import { type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'network connect [OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'alias', type: 'list', value: 'list', description: 'Add network-scoped alias for the container' },
    { name: 'ip', type: 'string', value: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
    { name: 'ip6', type: 'string', value: 'string', description: 'IPv6 address (e.g., 2001:db8::33)' },
    {
      name: 'mac-address',
      type: 'string',
      value: 'string',
      description: 'MAC address (e.g., 92:d0:c6:0a:29:33)',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const [network, container] = args as [string, string];
  const ip = str(flags, 'ip');
  const ip6 = str(flags, 'ip6');
  const mac = str(flags, 'mac-address');
  const aliases = list(flags, 'alias');
  const engine = await ctx.engine();
  await engine.connectNetwork(container, {
    name: network,
    ...(aliases.length ? { aliases } : {}),
    ...(ip !== undefined ? { ipv4: parse.parseIpFlag(ip, 4, '--ip') } : {}),
    ...(ip6 !== undefined ? { ipv6: parse.parseIpFlag(ip6, 6, '--ip6') } : {}),
    ...(mac !== undefined ? { mac } : {}),
  });
  return 0;
}
