// /proc/<pid>/stat, parsed once for every reader: the command name sits in parentheses and may
// itself hold spaces or ')', so the fields after it are found from the last ')'.

export interface ProcStat {
  comm: string;
  /** R, S, D, Z, X, … */
  state: string;
  /** Fields 3 onwards of proc(5) (state, ppid, …): field N is `fields[N - 3]`. */
  fields: string[];
}

export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  return { comm: text.slice(text.indexOf('(') + 1, close), state: fields[0] ?? '', fields };
}
