import { InvalidArgumentError } from '../../../errors/index.js';
import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'network create [OPTIONS] NETWORK',
  description: 'Create a network',
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'driver',
      short: 'd',
      type: 'string',
      value: 'string',
      default: 'bridge',
      description: 'Driver to manage the network (bridge, macvlan, ipvlan)',
    },
    { name: 'subnet', type: 'list', value: 'strings', description: 'Subnet in CIDR format' },
    {
      name: 'gateway',
      type: 'list',
      value: 'strings',
      description: 'Gateway for the subnet given in the same position',
    },
    {
      name: 'ip-range',
      type: 'list',
      value: 'strings',
      description: 'Allocate container IPs from a sub-range of the subnet given in the same position',
    },
    { name: 'internal', type: 'bool', description: 'Restrict external access to the network' },
    { name: 'ipv6', type: 'bool', description: 'Enable IPv6 networking (needs an IPv6 --subnet)' },
    { name: 'label', type: 'list', value: 'list', description: 'Set metadata on a network' },
    {
      name: 'opt',
      short: 'o',
      type: 'list',
      value: 'map',
      description:
        'Set driver specific options (bridge: mtu, com.docker.network.bridge.name; macvlan/ipvlan: parent, mode, mtu)',
    },
  ],
};

/** `KEY=VALUE` pairs of a repeatable flag; a bare KEY is an empty value when `bareOk`. */
function pairs(values: string[], flag: string, bareOk: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0 || (eq < 0 && !bareOk))
      throw new InvalidArgumentError(`invalid --${flag} "${v}": expected KEY=VALUE`);
    out[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? '' : v.slice(eq + 1);
  }
  return out;
}

/** docker's positional pairing: the Nth --gateway and --ip-range belong to the Nth --subnet. */
export function pairSubnets(
  subnets: string[],
  gateways: string[],
  ipRanges: string[],
): { subnet: string; gateway?: string; ipRange?: string }[] {
  for (const [flag, values] of [
    ['gateway', gateways],
    ['ip-range', ipRanges],
  ] as const)
    if (values.length > subnets.length)
      throw new InvalidArgumentError(
        `${values.length} --${flag} given for ${subnets.length} --subnet: each needs its own --subnet`,
      );
  return subnets.map((subnet, i) => ({
    subnet,
    ...(gateways[i] !== undefined ? { gateway: gateways[i] } : {}),
    ...(ipRanges[i] !== undefined ? { ipRange: ipRanges[i] } : {}),
  }));
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const driver = str(flags, 'driver') ?? 'bridge';
  if (driver !== 'bridge' && driver !== 'macvlan' && driver !== 'ipvlan')
    throw new InvalidArgumentError(`unknown network driver "${driver}": use bridge, macvlan or ipvlan`);
  const subnets = pairSubnets(list(flags, 'subnet'), list(flags, 'gateway'), list(flags, 'ip-range'));
  const engine = await ctx.engine();
  const n = engine.createNetwork({
    name: args[0]!,
    driver,
    ...(subnets.length ? { subnets } : {}),
    internal: bool(flags, 'internal'),
    ipv6: bool(flags, 'ipv6'),
    labels: pairs(list(flags, 'label'), 'label', true),
    options: pairs(list(flags, 'opt'), 'opt', false),
  });
  ctx.stdout.write(`${n.Id}\n`);
  return 0;
}
