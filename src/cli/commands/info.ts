import { type CommandSpec, type ParsedArgs, str } from '../args.js';
import type { CommandContext } from '../context.js';
import { humanSize, renderTemplate } from '../render.js';
import { FORMAT_FLAG } from './_common.js';

export const spec: CommandSpec = {
  usage: 'info [OPTIONS]',
  description: 'Display system-wide information',
  args: { min: 0, max: 0 },
  flags: [FORMAT_FLAG],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const info = engine.info();
  const format = str(flags, 'format');
  if (format === 'json') {
    ctx.stdout.write(`${JSON.stringify(info)}\n`);
    return 0;
  }
  if (format) {
    ctx.stdout.write(`${renderTemplate(format, info)}\n`);
    return 0;
  }
  const runtimes = Object.entries(info.Runtimes)
    .map(([n, r]) => `${n} ${r.version ?? '?'} (${r.path})`)
    .join(', ');
  ctx.stdout.write(
    [
      'Server:',
      ` Images: ${info.Images}`,
      ` Containers: ${info.Containers}`,
      ` Server Version: ${info.ServerVersion}`,
      ` Storage Driver: ${info.Driver}`,
      ` Root Dir: ${info.DockerRootDir}`,
      ` Run Root: ${info.RunRoot}`,
      ` Cgroup Version: ${info.CgroupVersion} (${info.CgroupMode}${info.CgroupV2Controllers.length ? `, cgroup2 controllers: ${info.CgroupV2Controllers.join(' ')}` : ''})`,
      ` Runtimes: ${runtimes || 'none found'}`,
      ` Conmon: ${info.Conmon ? `${info.Conmon.version ?? '?'} (${info.Conmon.path})` : 'not found'}`,
      ` Kernel Version: ${info.KernelVersion}`,
      ` Operating System: ${info.OperatingSystem}`,
      ` Architecture: ${info.Architecture}`,
      ` CPUs: ${info.NCPU}`,
      ` Total Memory: ${humanSize(info.MemTotal)}`,
      ` Auth File: ${info.AuthFile}`,
      '',
    ].join('\n'),
  );
  return 0;
}
