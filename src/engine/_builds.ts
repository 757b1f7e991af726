// Leftovers of builds whose process was killed (RUN containers, secret files under the runroot):
// swept by the commands that prune, as a new build sweeps them before it starts.
import type { Parts } from './_parts.js';

/** Remove what dead builds left; a build still running in any process is left alone. */
export async function sweepDeadBuilds(parts: Parts): Promise<{ containers: string[]; problems: string[] }> {
  const { sweepDeadBuilds: sweep } = await import('../builder/index.js');
  const r = await sweep({ store: parts.store, containers: parts.containers, runroot: parts.options.runroot });
  return { containers: r.containers, problems: r.problems };
}
