import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../../../errors/index.js';
import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

// Called by conmon when a container exits (its --exit-command): record the exit, tear down,
// apply the restart policy or --rm. Not meant for people, so it is not listed in help. Nobody
// reads its stderr, so a failure is also appended to RUNROOT/cleanup.log.
export const spec: CommandSpec = {
  usage: 'container cleanup CONTAINER',
  description: 'Record a container exit and apply its restart policy (run by conmon)',
  args: { min: 1, max: 1 },
  flags: [],
};

export async function run(ctx: CommandContext, { args }: ParsedArgs) {
  const engine = await ctx.engine();
  try {
    await engine.cleanupContainer(args[0]!);
  } catch (err) {
    try {
      appendFileSync(
        join(ctx.globals.runroot, 'cleanup.log'),
        `${new Date().toISOString()} ${args[0]}: ${describeError(err)}\n`,
      );
    } catch {
      // the runroot itself is gone: nothing better to do than the exit code
    }
    throw err;
  }
  return 0;
}
