// Disk usage (`system df`): counts and sizes per kind, and what removing unused things frees.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { type ContainerState, isActiveState } from '../oci/index.js';
import type { ContainerStore } from './_container-store.js';
import type { StoreDb } from './_db.js';
import { dirSize, listDir } from './_fs.js';
import type { ImageStore } from './_images.js';

export interface DiskUsage {
  /** size: distinct layers used by images; reclaimable: the part not used by images in use by containers. */
  images: { count: number; size: number; reclaimable: number };
  layers: { count: number; size: number };
  blobs: { count: number; size: number };
  /** size: bytes in the containers' upper dirs; reclaimable: those of containers not running. */
  containers: { count: number; size: number; reclaimable: number };
  /** size: bytes in the volumes; reclaimable: those of volumes no container uses. */
  volumes: { count: number; size: number; reclaimable: number };
}

export class DiskUsageReport {
  constructor(
    private readonly db: StoreDb,
    private readonly images: ImageStore,
    private readonly containers: ContainerStore,
  ) {}

  get(): DiskUsage {
    const count = (sql: string) => this.db.q(sql).pluck().get() as number;
    const inUse = this.images.imagesInUse();
    const imageLayerSize = count(
      'SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN (SELECT diff_id FROM image_layers)',
    );
    let inUseSize = 0;
    if (inUse.length > 0) {
      inUseSize = this.db
        .q(
          `SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN
           (SELECT diff_id FROM image_layers WHERE image_id IN (SELECT value FROM json_each(?)))`,
        )
        .pluck()
        .get(JSON.stringify(inUse)) as number;
    }
    let blobCount = 0;
    let blobSize = 0;
    for (const alg of listDir(join(this.db.root, 'blobs'))) {
      for (const name of listDir(join(this.db.root, 'blobs', alg))) {
        if (name.startsWith('.')) continue;
        const st = lstatSync(join(this.db.root, 'blobs', alg, name), { throwIfNoEntry: false });
        if (!st?.isFile()) continue;
        blobCount++;
        blobSize += st.size;
      }
    }
    return {
      images: {
        count: count('SELECT COUNT(*) FROM images'),
        size: imageLayerSize,
        reclaimable: imageLayerSize - inUseSize,
      },
      layers: {
        count: count('SELECT COUNT(*) FROM layers'),
        size: count('SELECT COALESCE(SUM(size), 0) FROM layers'),
      },
      blobs: { count: blobCount, size: blobSize },
      containers: this.containerUsage(),
      volumes: this.volumeUsage(),
    };
  }

  private containerUsage(): DiskUsage['containers'] {
    const rows = this.db.q('SELECT id, state FROM containers').all() as {
      id: string;
      state: ContainerState;
    }[];
    const usage = { count: rows.length, size: 0, reclaimable: 0 };
    for (const r of rows) {
      const size = dirSize(join(this.containers.containerDir(r.id), 'upper'));
      usage.size += size;
      if (!isActiveState(r.state)) usage.reclaimable += size;
    }
    return usage;
  }

  private volumeUsage(): DiskUsage['volumes'] {
    const rows = this.db
      .q(
        'SELECT name, EXISTS (SELECT 1 FROM container_volumes cv WHERE cv.volume_name = volumes.name) AS used FROM volumes',
      )
      .all() as { name: string; used: number }[];
    const usage = { count: rows.length, size: 0, reclaimable: 0 };
    for (const r of rows) {
      const size = dirSize(join(this.db.root, 'volumes', r.name, '_data'));
      usage.size += size;
      if (!r.used) usage.reclaimable += size;
    }
    return usage;
  }
}
