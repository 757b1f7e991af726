import { describeError } from '../../errors/index.js';
import type { FlagSpec } from '../args.js';
import { type FlagValues, str } from '../args.js';
import type { CommandContext } from '../context.js';

export const TLS_VERIFY_FLAG: FlagSpec = {
  name: 'tls-verify',
  type: 'bool',
  default: true,
  description: 'Require HTTPS and verify certificates (loopback registries may always use plain HTTP)',
};
export const AUTHFILE_FLAG: FlagSpec = {
  name: 'authfile',
  type: 'string',
  value: 'PATH',
  description: 'Credentials file (default $REGISTRY_AUTH_FILE or ~/.docker/config.json)',
};
export const FORMAT_FLAG: FlagSpec = {
  name: 'format',
  type: 'string',
  value: 'string',
  description: "Format output: 'json', 'table', or a Go template",
};

/** Engine options taken from the registry-related flags. */
export function registryOptions(flags: FlagValues): { authFile?: string; tlsVerify?: boolean } {
  const out: { authFile?: string; tlsVerify?: boolean } = {};
  const authFile = str(flags, 'authfile');
  if (authFile) out.authFile = authFile;
  if (flags['tls-verify'] === false) out.tlsVerify = false;
  return out;
}

/** An AbortSignal fired by SIGINT/SIGTERM, so an interrupted command cleans up after itself. */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => ac.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return ac.signal;
}

/** Apply `fn` to each named container, printing the name on success and one line per failure. */
export async function forEachName(
  ctx: CommandContext,
  names: string[],
  fn: (name: string) => Promise<unknown>,
): Promise<number> {
  let failed = false;
  for (const name of names) {
    try {
      await fn(name);
      ctx.stdout.write(`${name}\n`);
    } catch (err) {
      failed = true;
      ctx.stderr.write(`Error: ${describeError(err)}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** docker's "Are you sure?" for prune commands: skipped with -f or when stdin is not a terminal. */
export async function confirmPrune(ctx: CommandContext, force: boolean, warning: string): Promise<boolean> {
  if (force || !process.stdin.isTTY) return true;
  ctx.stdout.write(`WARNING! This will remove ${warning}.\nAre you sure you want to continue? [y/N] `);
  const answer = await new Promise<string>((resolve) =>
    process.stdin.once('data', (d) => resolve(String(d))),
  );
  process.stdin.pause();
  return /^y(es)?$/i.test(answer.trim());
}
