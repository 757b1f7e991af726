import type { CommandSpec, ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { runFailure } from './_attach.js';
import { CREATE_FLAGS, createFromFlags } from './_create-flags.js';

export const spec: CommandSpec = {
  usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  stopAtFirstPositional: true,
  flags: CREATE_FLAGS,
};

export async function run(ctx: CommandContext, parsed: ParsedArgs): Promise<number> {
  try {
    return await runCommand(ctx, parsed);
  } catch (err) {
    // docker: 125 when the engine (not the container) failed, 126/127 when the command could not run
    return runFailure(ctx, err);
  }
}

async function runCommand(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const { rec } = await createFromFlags(ctx, flags, args);
  ctx.stdout.write(`${rec.id}\n`);
  return 0;
}
