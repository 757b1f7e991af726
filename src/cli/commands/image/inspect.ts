import { describeError } from '../../../errors/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { renderTemplate } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'image inspect [OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [{ ...FORMAT_FLAG, short: 'f' }],
};

/** Print a JSON array of inspected objects, or one templated line per object. */
export async function printInspect(
  ctx: CommandContext,
  refs: string[],
  format: string | undefined,
  inspect: (ref: string) => Promise<unknown>,
): Promise<number> {
  const found: unknown[] = [];
  let failed = false;
  for (const r of refs) {
    try {
      found.push(await inspect(r));
    } catch (err) {
      failed = true;
      ctx.stderr.write(`Error: ${describeError(err)}\n`);
    }
  }
  if (format && format !== 'json') {
    for (const f of found) ctx.stdout.write(`${renderTemplate(format, f)}\n`);
  } else {
    ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  }
  return failed ? 1 : 0;
}

export async function inspectImages(
  ctx: CommandContext,
  refs: string[],
  format: string | undefined,
): Promise<number> {
  const engine = await ctx.engine();
  return printInspect(ctx, refs, format, (r) => engine.inspectImage(r));
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  return inspectImages(ctx, args, str(flags, 'format'));
}
