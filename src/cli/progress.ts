// Pull/load progress: a line per layer redrawn in place on a TTY (like `docker pull`), plain
// one-line-per-state-change output otherwise, nothing with `quiet`.
import type { ProgressEvent } from '../engine/index.js';
import { humanSize } from './render.js';

interface LayerState {
  status: string;
  current?: number;
  total?: number;
}

export function createProgressRenderer(stream: NodeJS.WriteStream, options: { quiet?: boolean } = {}) {
  const tty = stream.isTTY === true && !options.quiet;
  const layers = new Map<string, LayerState>();
  let drawnLines = 0;
  let lastDraw = 0;
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 80) return;
    lastDraw = now;
    let out = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    for (const [id, s] of layers) out += `\x1b[2K${formatLine(id, s, true)}\n`;
    drawnLines = layers.size;
    stream.write(out);
  };
  const emit = (event: ProgressEvent) => {
    if (options.quiet) return;
    switch (event.type) {
      case 'resolve':
        stream.write(`Resolving ${event.ref}\n`);
        return;
      case 'resolved':
        return;
      case 'message':
        if (tty) draw(true);
        stream.write(`${event.text}\n`);
        if (tty) drawnLines = 0;
        return;
      case 'layer': {
        const prev = layers.get(event.id);
        const state: LayerState = {
          status: event.status,
          current: event.current,
          total: event.total ?? prev?.total,
        };
        layers.set(event.id, state);
        if (tty) draw(event.status !== 'downloading' && event.status !== 'extracting');
        else if (prev?.status !== event.status) stream.write(`${formatLine(event.id, state, false)}\n`);
      }
    }
  };
  return {
    emit,
    finish() {
      if (tty && layers.size > 0) draw(true);
    },
  };
}

const STATUS_TEXT: Record<string, string> = {
  waiting: 'Waiting',
  exists: 'Already exists',
  downloading: 'Downloading',
  extracting: 'Extracting',
  verifying: 'Verifying checksum',
  done: 'Pull complete',
};

function formatLine(id: string, s: LayerState, bar: boolean): string {
  const text = STATUS_TEXT[s.status] ?? s.status;
  if (bar && (s.status === 'downloading' || s.status === 'extracting') && s.total && s.total > 0) {
    const cur = Math.min(s.current ?? 0, s.total);
    const width = 40;
    const filled = Math.floor((cur / s.total) * width);
    const barText = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
    return `${id}: ${text.padEnd(12)} ${barText} ${humanSize(cur)}/${humanSize(s.total)}`;
  }
  return `${id}: ${text}`;
}
