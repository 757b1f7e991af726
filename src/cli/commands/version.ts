import { type CommandSpec, type ParsedArgs, str } from '../args.js';
import type { CommandContext } from '../context.js';
import { renderTemplate } from '../render.js';
import { FORMAT_FLAG } from './_common.js';

export const spec: CommandSpec = {
  usage: 'version [OPTIONS]',
  description: 'Show the berth version information',
  args: { min: 0, max: 0 },
  flags: [FORMAT_FLAG],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const { VERSION } = await import('../version.js');
  const info = {
    Client: {
      Version: VERSION,
      ApiVersion: '1.43',
      NodeVersion: process.versions.node,
      Os: process.platform,
      Arch: process.arch,
    },
  };
  const format = str(flags, 'format');
  if (format === 'json') ctx.stdout.write(`${JSON.stringify(info)}\n`);
  else if (format) ctx.stdout.write(`${renderTemplate(format, info)}\n`);
  else {
    ctx.stdout.write(
      `Client:\n Version:       ${VERSION}\n API version:   ${info.Client.ApiVersion}\n Node version:  ${info.Client.NodeVersion}\n OS/Arch:       ${info.Client.Os}/${info.Client.Arch}\n`,
    );
  }
  return 0;
}
