import type { ContainerStats } from '../../../engine/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList, humanSize } from '../../render.js';
import { FORMAT_FLAG, interruptSignal } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'stats [OPTIONS] [CONTAINER...]',
  description: 'Display a live stream of container(s) resource usage statistics',
  args: { min: 0, max: Number.POSITIVE_INFINITY },
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      description: 'Show all containers (default shows just running)',
    },
    FORMAT_FLAG,
    {
      name: 'no-stream',
      type: 'bool',
      description: 'Disable streaming stats and only pull the first result',
    },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
  ],
};

/** docker prints memory in binary units (MiB), I/O in decimal ones (MB). */
function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)}B` : `${v.toFixed(2).replace(/\.?0+$/, '')}${units[u]}`;
}

function row(s: ContainerStats, noTrunc: boolean) {
  return {
    BlockIO: `${humanSize(s.blockRead)} / ${humanSize(s.blockWrite)}`,
    CPUPerc: `${s.cpuPercent.toFixed(2)}%`,
    Container: noTrunc ? s.id : s.id.slice(0, 12),
    ID: noTrunc ? s.id : s.id.slice(0, 12),
    MemPerc: `${s.memoryPercent.toFixed(2)}%`,
    MemUsage: `${binarySize(s.memoryUsage)} / ${binarySize(s.memoryLimit)}`,
    Name: s.name,
    NetIO: `${humanSize(s.netRx)} / ${humanSize(s.netTx)}`,
    PIDs: String(s.pids),
  };
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const format = str(flags, 'format');
  const noTrunc = bool(flags, 'no-trunc');
  const names = async () =>
    args.length > 0 ? args : (await engine.listContainers({ all: bool(flags, 'all') })).map((r) => r.Id);
  const render = async () => {
    const stats = await engine.containerStats(await names());
    return formatList(
      stats.map((s) => row(s, noTrunc)),
      format,
      {
        header: [
          'CONTAINER ID',
          'NAME',
          'CPU %',
          'MEM USAGE / LIMIT',
          'MEM %',
          'NET I/O',
          'BLOCK I/O',
          'PIDS',
        ],
        row: (r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs],
      },
    );
  };
  if (bool(flags, 'no-stream')) {
    ctx.stdout.write(await render());
    return 0;
  }
  const signal = interruptSignal();
  while (!signal.aborted) {
    const text = await render();
    if (signal.aborted) break;
    // on a terminal, redraw in place as docker does; elsewhere, one block per refresh
    ctx.stdout.write(ctx.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 800);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return 0;
}
