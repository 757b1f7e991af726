import { type ContainerUpdate, flags as parse } from '../../../engine/index.js';
import { InvalidArgumentError } from '../../../errors/index.js';
import { type CommandSpec, type FlagValues, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { forEachName } from '../_common.js';

const value = (name: string, description: string, kind = 'int') => ({
  name,
  type: 'string' as const,
  value: kind,
  description,
});

export const spec: CommandSpec = {
  usage: 'update [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Update configuration of one or more containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    value('blkio-weight', 'Block IO (relative weight), between 10 and 1000, or 0 to disable', 'uint16'),
    value('cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period'),
    value('cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota'),
    { ...value('cpu-shares', 'CPU shares (relative weight)'), short: 'c' },
    value('cpus', 'Number of CPUs', 'decimal'),
    value('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)', 'string'),
    value('cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)', 'string'),
    { ...value('memory', 'Memory limit', 'bytes'), short: 'm' },
    value('memory-reservation', 'Memory soft limit', 'bytes'),
    value('memory-swap', 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', 'bytes'),
    value('pids-limit', 'Tune container pids limit (set -1 for unlimited)'),
    value('restart', 'Restart policy to apply when a container exits', 'string'),
  ],
};

/** The changes the flags ask for (docker's flag names and units). */
export function updateFromFlags(flags: FlagValues): ContainerUpdate {
  const u: ContainerUpdate = {};
  const int = (name: string, min: number) => {
    const v = str(flags, name);
    return v === undefined ? undefined : parse.parseInteger(v, `--${name}`, { min });
  };
  const bytes = (name: string) => {
    const v = str(flags, name);
    return v === undefined ? undefined : parse.parseBytes(v, `--${name}`);
  };
  const put = <K extends keyof ContainerUpdate>(key: K, v: ContainerUpdate[K] | undefined) => {
    if (v !== undefined) u[key] = v;
  };
  put('blkioWeight', int('blkio-weight', 0));
  put('cpuPeriod', int('cpu-period', 0));
  put('cpuQuota', int('cpu-quota', 0));
  put('cpuShares', int('cpu-shares', 0));
  const cpus = str(flags, 'cpus');
  if (cpus !== undefined) u.cpus = parse.parseCpus(cpus);
  put('cpusetCpus', str(flags, 'cpuset-cpus'));
  put('cpusetMems', str(flags, 'cpuset-mems'));
  put('memory', bytes('memory'));
  put('memoryReservation', bytes('memory-reservation'));
  const swap = str(flags, 'memory-swap');
  if (swap !== undefined) u.memorySwap = parse.parseSwap(swap);
  put('pidsLimit', int('pids-limit', -1));
  const restart = str(flags, 'restart');
  if (restart !== undefined) u.restart = parse.parseRestartPolicy(restart);
  if (Object.keys(u).length === 0) {
    throw new InvalidArgumentError('you must provide one or more flags when using this command');
  }
  return u;
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const changes = updateFromFlags(flags);
  const engine = await ctx.engine();
  return forEachName(ctx, args, async (n) => {
    const { warnings } = await engine.updateContainer(n, changes);
    for (const w of warnings) ctx.stderr.write(`WARNING: ${w}\n`);
  });
}
