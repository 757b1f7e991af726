import type { CommandSpec, ParsedArgs } from '../args.js';
import type { CommandContext } from '../context.js';
import { AUTHFILE_FLAG, registryOptions } from './_common.js';

export const spec: CommandSpec = {
  usage: 'logout [SERVER]',
  description: 'Log out from a registry (default docker.io)',
  args: { min: 0, max: 1 },
  flags: [AUTHFILE_FLAG],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine(registryOptions(flags));
  const { host, removed } = await engine.logout(args[0] ?? 'docker.io');
  ctx.stdout.write(removed ? `Removing login credentials for ${host}\n` : `Not logged in to ${host}\n`);
  return 0;
}
