// Build progress like BuildKit's plain output: `#N [stage i/n] INSTRUCTION`, the RUN output
// with its time offset, then CACHED or DONE with the time taken. On a terminal the output of
// a step that succeeded is folded away once it is done (if nothing else printed meanwhile).
import type { BuildEvent } from '../engine/index.js';

export function createBuildRenderer(stream: NodeJS.WriteStream, options: { quiet: boolean }) {
  const tty = stream.isTTY === true;
  const started = new Map<number, number>();
  let foldable: { id: number; lines: number } | undefined;
  const write = (line: string, stepId?: number) => {
    if (foldable && foldable.id !== stepId) foldable = undefined;
    stream.write(`${line}\n`);
  };
  return (e: BuildEvent): void => {
    if (e.type === 'failed') {
      // even with -q: the reader needs to see why
      for (const l of options.quiet ? e.output : []) stream.write(`#${e.id} ${l}\n`);
      write(`#${e.id} ERROR: ${e.message}`);
      return;
    }
    if (options.quiet) {
      if (e.type === 'warning') stream.write(`WARNING: ${e.message}\n`);
      return;
    }
    switch (e.type) {
      case 'step':
        started.set(e.id, Date.now());
        write(`#${e.id} [${e.stage} ${e.index}/${e.total}] ${e.text}`);
        foldable = { id: e.id, lines: 0 };
        return;
      case 'output': {
        const t = ((Date.now() - (started.get(e.id) ?? Date.now())) / 1000).toFixed(3);
        write(`#${e.id} ${t} ${e.line}`, e.id);
        if (foldable?.id === e.id) foldable.lines++;
        return;
      }
      case 'cached':
        write(`#${e.id} CACHED`, e.id);
        foldable = undefined;
        return;
      case 'done':
        if (tty && foldable?.id === e.id && foldable.lines > 0) {
          // fold: move up over the output lines and clear them
          stream.write(`\x1b[${foldable.lines}A\x1b[J`);
        }
        foldable = undefined;
        write(`#${e.id} DONE ${(e.ms / 1000).toFixed(1)}s`, e.id);
        return;
      case 'warning':
        write(`WARNING: ${e.message}`);
    }
  };
}
