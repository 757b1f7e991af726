import { UsageError } from '../../errors/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../args.js';
import type { CommandContext } from '../context.js';
import { AUTHFILE_FLAG, registryOptions, TLS_VERIFY_FLAG } from './_common.js';

export const spec: CommandSpec = {
  usage: 'login [OPTIONS] [SERVER]',
  description:
    'Log in to a registry (default docker.io); credentials go to ~/.docker/config.json or its credential helper',
  args: { min: 0, max: 1 },
  flags: [
    { name: 'username', short: 'u', type: 'string', value: 'string', description: 'Username' },
    { name: 'password', short: 'p', type: 'string', value: 'string', description: 'Password' },
    { name: 'password-stdin', type: 'bool', description: 'Take the password from stdin' },
    AUTHFILE_FLAG,
    TLS_VERIFY_FLAG,
  ],
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin) {
    n += (c as Buffer).length;
    if (n > 64 * 1024) throw new UsageError('password on stdin is too long');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Read a line from the terminal; with `hidden`, nothing is echoed. */
async function prompt(question: string, hidden: boolean): Promise<string> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
    out._writeToOutput = (s: string) => {
      if (s.startsWith(question)) out.output.write(question);
      else if (s.includes('\n')) out.output.write('\n');
    };
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
  }
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const server = args[0] ?? 'docker.io';
  let username = str(flags, 'username');
  let password = str(flags, 'password');
  if (password !== undefined && bool(flags, 'password-stdin')) {
    throw new UsageError('--password and --password-stdin are mutually exclusive');
  }
  if (password !== undefined)
    ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (bool(flags, 'password-stdin')) {
    if (!username) throw new UsageError('must provide --username with --password-stdin');
    password = await readStdin();
  }
  if (!username) {
    if (!process.stdin.isTTY)
      throw new UsageError('cannot prompt for a username: stdin is not a terminal; use -u');
    username = await prompt('Username: ', false);
  }
  if (password === undefined) {
    if (!process.stdin.isTTY)
      throw new UsageError('cannot prompt for a password: stdin is not a terminal; use --password-stdin');
    password = await prompt('Password: ', true);
  }
  if (!username || !password) throw new UsageError('username and password must not be empty');
  const engine = await ctx.engine(registryOptions(flags));
  await engine.login(server, { username, password });
  ctx.stdout.write('Login Succeeded\n');
  return 0;
}
