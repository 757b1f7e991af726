// A child process for the events journal's multi-process tests (run from build/):
//   node events-child.js <dir> <writer> <rotateBytes> <padBytes> [count]
// appends events whose Actor.ID is "<writer>-<i>" (i counting from 0), each padded with a
// <padBytes> label (past PIPE_BUF, so only O_APPEND's one write per event keeps lines whole).
// With <count>: that many, then exit. Without: for each line "N" on stdin, N more, then "ok".
import { createInterface } from 'node:readline';
import { EventJournal, newEvent } from '../../src/store/_events.js';

const [dir, writer, rotateBytes, padBytes, count] = process.argv.slice(2);
const journal = new EventJournal(dir!, { rotateBytes: Number(rotateBytes) });
const pad = writer!.charAt(0).repeat(Number(padBytes));
let next = 0;
const append = (n: number) => {
  for (let i = 0; i < n; i++) {
    journal.append(newEvent('container', 'start', { ID: `${writer}-${next++}`, Attributes: { pad } }));
  }
};
if (count !== undefined) {
  append(Number(count));
} else {
  for await (const line of createInterface({ input: process.stdin })) {
    append(Number(line));
    process.stdout.write('ok\n');
  }
}
journal.close();
