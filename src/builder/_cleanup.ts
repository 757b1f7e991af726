// What a build leaves when its process is killed: RUN containers (still running under conmon,
// their rootfs mounted) and its secret files under the runroot. Everything is tagged with the
// build's id, and a running build holds its registration in the store; a build whose
// registration nobody holds is gone, and its leftovers are removed here.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, hasCode } from '../errors/index.js';
import type { BuildDeps } from './_build-types.js';

/** The container label naming the build a container belongs to. */
export const BUILD_LABEL = 'berth.build';
const BUILD_ID = /^[a-f0-9]{16}$/;

/** runroot/build/<id>: the build's secret and heredoc files (tmpfs, never on disk). */
export function buildSecretDir(runroot: string, buildId: string): string {
  return join(runroot, 'build', buildId);
}

export interface SweepReport {
  /** Ids of the dead builds swept. */
  builds: string[];
  /** Containers removed. */
  containers: string[];
  /** What could not be removed (the rest was). */
  problems: string[];
}

/**
 * Remove the leftovers of builds whose process died: their containers and secret dirs. A build
 * that is still running, in this process or another, is left alone.
 */
export async function sweepDeadBuilds(
  deps: Pick<BuildDeps, 'store' | 'containers' | 'runroot'>,
): Promise<SweepReport> {
  const { store, containers, runroot } = deps;
  const report: SweepReport = { builds: [], containers: [], problems: [] };
  // gather first: a build registers before it makes anything, so a leftover found here whose
  // registration is free (or gone) cannot belong to a build that started after this point
  const ids = new Set(store.registeredBuilds());
  const byBuild = new Map<string, string[]>();
  for (const c of store.listContainers()) {
    const id = c.labels[BUILD_LABEL];
    if (id === undefined || !BUILD_ID.test(id)) continue;
    ids.add(id);
    byBuild.set(id, [...(byBuild.get(id) ?? []), c.id]);
  }
  // secret dirs are found through their build's registration (made before them, dropped after
  // them), never by listing the runroot: another store may share it and run builds there

  for (const id of ids) {
    const claim = store.claimDeadBuild(id);
    if (!claim) continue;
    let clean = true;
    try {
      for (const cid of byBuild.get(id) ?? []) {
        try {
          await containers.remove(cid, { force: true });
          report.containers.push(cid);
        } catch (err) {
          if (hasCode(err, 'NOT_FOUND')) continue;
          clean = false;
          report.problems.push(`cannot remove container ${cid} of build ${id}: ${describeError(err)}`);
        }
      }
      rmSync(buildSecretDir(runroot, id), { recursive: true, force: true, maxRetries: 3 });
      report.builds.push(id);
    } finally {
      // keep the registration while something is left, so the next sweep tries again
      if (clean) claim.unlinkAndRelease();
      else claim.release();
    }
  }
  return report;
}
