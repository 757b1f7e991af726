// --squash: the layers a build made become one.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { storeImage } from '../image/index.js';
import type { StageState } from './_build-types.js';
import type { Build } from './_executor.js';
import { applyLayerDir } from './_fsops.js';
import { commitDirAsLayer } from './_layer.js';

/**
 * --squash: the layers this build made become one. They are applied in order onto a
 * rootfs of the base layers (whiteouts as deletions, opaque dirs emptied first), and the
 * overlay upper dir of that is the single new layer; the history keeps every step, with
 * all but the last marked as empty.
 */
export async function squash(b: Build, state: StageState): Promise<StageState> {
  const fresh = state.layers.slice(state.baseLayers);
  if (fresh.length <= 1) return state;
  const base = state.layers.slice(0, state.baseLayers);
  const baseImage = await storeImage(
    b.deps.store,
    { ...state.config, rootfs: { type: 'layers', diff_ids: base.map((l) => l.diffId) }, history: [] },
    base,
    [],
  );
  b.intermediates.add(baseImage.id);
  const store = b.deps.store;
  const layer = await b.withRootfs(baseImage, { readOnly: false }, async (rootfs, cid) => {
    for (const l of fresh) applyLayerDir(store.layerDiffPath(l.diffId), rootfs);
    store.unmountContainerRootfs(cid);
    const upper = join(store.containerDir(cid), 'upper');
    if (!existsSync(upper)) return undefined;
    return commitDirAsLayer(store, b.lease, upper, b.layerOptions('squashed layers'));
  });
  const layers = layer ? [...base, layer] : base;
  const history = [...(state.config.history ?? [])];
  let lastLayerEntry = -1;
  history.forEach((h, i) => {
    if (!h.empty_layer) lastLayerEntry = i;
  });
  let seen = 0;
  const baseEntries = history.filter((h) => !h.empty_layer).length - fresh.length;
  const squashedHistory = history.map((h, i) => {
    if (h.empty_layer) return h;
    seen++;
    if (seen <= baseEntries) return h;
    return i === lastLayerEntry && layer ? h : { ...h, empty_layer: true };
  });
  return {
    ...state,
    layers,
    config: {
      ...state.config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: squashedHistory,
    },
  };
}
