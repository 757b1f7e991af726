// The stage graph: which stage a build targets, how a reference names an earlier stage, and
// which stages the target needs (FROM, COPY --from, RUN --mount from=) so they can run together.

import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { Stage } from './_ast.js';
import type { Build } from './_executor.js';
import { expandInstruction } from './_expand.js';

export function targetStage(b: Build): Stage {
  const stages = b.df.stages;
  if (b.req.target === undefined) return stages[stages.length - 1]!;
  const t = b.req.target.toLowerCase();
  const s = stages.find((st) => st.from.stageName === t);
  if (!s) {
    throw new NotFoundError(
      `target stage "${b.req.target}" could not be found${stages.some((x) => x.from.stageName) ? ` (stages: ${stages.map((x) => x.from.stageName ?? x.index).join(', ')})` : ''}`,
    );
  }
  return s;
}

/** A stage named (or numbered) `ref` that comes before stage `before`, if any. */
export function findStage(b: Build, ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  const byName = b.df.stages.find((s) => s.index < before && s.from.stageName === lower);
  if (byName) return byName;
  if (/^\d+$/.test(ref)) {
    const s = b.df.stages[Number(ref)];
    if (s && s.index < before) return s;
    if (s) throw new InvalidArgumentError(`stage ${ref} cannot be used before it is defined`);
  }
  return undefined;
}

/** Stages the target needs, found from FROM, COPY --from and RUN --mount from= (meta-args expanded). */
export function neededStages(b: Build, target: number): number[] {
  const seen = new Set<number>();
  const lookup = (n: string) => b.metaArgs.get(n) ?? b.autoArgs[n];
  const visit = (i: number): void => {
    if (seen.has(i)) return;
    seen.add(i);
    const stage = b.df.stages[i]!;
    const refs: string[] = [];
    try {
      refs.push(expandInstruction(stage.from, lookup, b.escape).image);
    } catch {
      // resolved when the stage runs
    }
    for (const ins of stage.instructions) {
      if ((ins.kind === 'COPY' || ins.kind === 'ADD') && ins.from) refs.push(ins.from);
      if (ins.kind === 'RUN') {
        for (const m of ins.mounts) {
          const from = /(?:^|,)from=([^,]+)/.exec(m)?.[1];
          if (from) refs.push(from);
        }
      }
    }
    for (const r of refs) {
      if (r.includes('$')) continue;
      const s = findStage(b, r, i);
      if (s) visit(s.index);
    }
  };
  visit(target);
  return [...seen].sort((a, b) => a - b);
}
