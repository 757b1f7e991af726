// Shared helpers of the Dockerfile parser tests: parse a stage, expect a located syntax error,
// and dump a file in the s-expression shape of BuildKit's parser testfiles.
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors/index.js';
import type { Dockerfile, Instruction } from './_ast.js';
import { DockerfileSyntaxError, parseDockerfile } from './_parser.js';

export const lines = (...ls: string[]) => `${ls.join('\n')}\n`;

/** Instructions of the only stage of `FROM base` followed by `body`. */
export function stageOf(...body: string[]): Instruction[] {
  const df = parseDockerfile(lines('FROM base', ...body));
  assert.equal(df.stages.length, 1);
  return df.stages[0]!.instructions;
}

export function one<T extends Instruction>(...body: string[]): T {
  const instrs = stageOf(...body);
  assert.equal(instrs.length, 1, `expected one instruction, got ${instrs.map((i) => i.kind).join(', ')}`);
  return instrs[0] as T;
}

/** Asserts that parsing fails with a DockerfileSyntaxError whose message matches `pattern`. */
export function fails(
  text: string,
  pattern: RegExp,
  where?: { line: number; column: number },
): DockerfileSyntaxError {
  let caught: unknown;
  try {
    parseDockerfile(text);
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof DockerfileSyntaxError,
    `expected a DockerfileSyntaxError, got ${String(caught)}`,
  );
  assert.ok(caught instanceof InvalidArgumentError);
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes('\n'), 'message must be one line');
  if (where) {
    assert.equal(caught.line, where.line, `line in ${caught.message}`);
    assert.equal(caught.column, where.column, `column in ${caught.message}`);
    assert.ok(caught.message.startsWith(`Dockerfile:${where.line}:${where.column}: `), caught.message);
  }
  return caught;
}

/** The s-expression shape of BuildKit's parser testfiles, to compare whole files at once. */
export function dump(df: Dockerfile): string[] {
  const all: Instruction[] = [...df.metaArgs];
  for (const s of df.stages) all.push(s.from, ...s.instructions);
  return all.map(describe);
}

export function describe(i: Instruction): string {
  const q = (s: string) => JSON.stringify(s);
  const cmd = (c: { form: 'exec'; args: string[] } | { form: 'shell'; text: string }) =>
    c.form === 'exec' ? c.args.map(q).join(' ') : q(c.text);
  switch (i.kind) {
    case 'FROM':
      return `(from ${q(i.image)}${i.stageName ? ` AS ${i.stageName}` : ''})`;
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      return `(${i.kind.toLowerCase()} ${cmd(i.command)})`;
    case 'ENV':
    case 'LABEL':
      return `(${i.kind.toLowerCase()} ${i.pairs.map((p) => `${q(p.key)} ${q(p.value)}`).join(' ')})`;
    case 'ARG':
      return `(arg ${i.args.map((a) => q(a.defaultValue === undefined ? a.name : `${a.name}=${a.defaultValue}`)).join(' ')})`;
    case 'COPY':
    case 'ADD':
      return `(${i.kind.toLowerCase()} ${[...i.sources, i.dest].map(q).join(' ')})`;
    case 'EXPOSE':
      return `(expose ${i.ports.map(q).join(' ')})`;
    case 'VOLUME':
      return `(volume ${i.paths.map(q).join(' ')})`;
    case 'USER':
      return `(user ${q(i.user)})`;
    case 'WORKDIR':
      return `(workdir ${q(i.path)})`;
    case 'ONBUILD':
      return `(onbuild ${describe(i.instruction)})`;
    default:
      return `(${i.kind.toLowerCase()})`;
  }
}

// --- Directives -------------------------------------------------------------------------------
