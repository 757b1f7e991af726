import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'network reload [CONTAINER...]',
  description:
    "Rebuild the bridge networks' firewall rules and run a CNI CHECK on running containers' attachments",
  args: { min: 0, max: Number.POSITIVE_INFINITY },
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs) {
  const engine = await ctx.engine();
  const report = await engine.reloadNetworks(args.length ? { containers: args } : {});
  for (const name of report.ok) ctx.stdout.write(`${name}\n`);
  for (const p of report.problems)
    ctx.stderr.write(`Error: container ${p.container} on network ${p.network}: ${p.error}\n`);
  return report.problems.length > 0 ? 1 : 0;
}
