// Volume use-cases of the Engine facade.
import { NotFoundError } from '../errors/index.js';
import type { VolumeRecord } from '../store/index.js';
import { type FilterInput, parseVolumeFilters } from './_filters.js';
import { formatVolume, type VolumeInspect } from './_format.js';
import type { Parts } from './_parts.js';

/** The label container/ puts on the volumes it creates for an image's VOLUME or a bare `-v /path`. */
const ANONYMOUS_LABEL = 'berth.anonymous';

/**
 * The one prune rule: a volume no container uses goes with `all`; without it, only anonymous
 * ones go (docker 23+), because a named volume holds data someone asked to keep by name.
 */
export function isPrunableVolume(
  v: Pick<VolumeRecord, 'labels' | 'usedBy'>,
  options: { all?: boolean },
): boolean {
  if (v.usedBy.length > 0) return false;
  return options.all === true || v.labels[ANONYMOUS_LABEL] === 'true';
}

export interface VolumePruneReport {
  /** Names of the volumes removed, sorted. */
  deleted: string[];
  reclaimed: number;
}

export function createVolume(
  parts: Parts,
  name: string | undefined,
  options: { labels?: Record<string, string> } = {},
): VolumeInspect {
  return formatVolume(parts.store.createVolume(name, options.labels ? { labels: options.labels } : {}));
}

export function inspectVolume(parts: Parts, name: string): VolumeInspect {
  const v = parts.store.getVolume(name);
  if (!v) throw new NotFoundError(`no such volume: ${name}`);
  return formatVolume(v);
}

/** Sorted by name; filters are checked before anything is listed. */
export function listVolumes(parts: Parts, options: { filters?: FilterInput } = {}): VolumeInspect[] {
  const matches = parseVolumeFilters(options.filters);
  return parts.store.listVolumes().filter(matches).map(formatVolume);
}

export function removeVolume(parts: Parts, name: string, options: { force?: boolean } = {}): void {
  parts.store.removeVolume(name, { force: options.force === true });
}

export function pruneVolumes(parts: Parts, options: { all?: boolean } = {}): VolumePruneReport {
  const r = parts.store.pruneVolumes({ filter: (v) => isPrunableVolume(v, options) });
  return { deleted: r.names, reclaimed: r.bytes };
}
