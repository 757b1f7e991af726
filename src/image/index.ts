// image/: moves images between registry, store and archives: pull, save/load in docker-archive
// and OCI forms, import of rootfs tarballs, and the docker-shaped views (inspect, history).

export { applyChanges } from './_changes.js';
export { type LocalLayer, storeImage, storeImageWithLayer } from './_layers.js';
export { familiarRepoDigest, familiarTag, fullTagName } from './_names.js';
export { diffImages, type ImageDiff, type ImageDiffStep } from './diff.js';
export { creationTime, type ImportOptions, importImage } from './import.js';
export {
  type HistoryRow,
  type ImageInspect,
  imageHistory,
  inspectImage,
  readImageConfig,
} from './inspect.js';
export { type LoadOptions, type LoadResult, loadImages } from './load.js';
export { type PullOptions, type PullResult, pullImage, selectPlatform } from './pull.js';
export {
  mountSource,
  type PushBlobStatus,
  type PushEvent,
  type PushOptions,
  type PushResult,
  type PushSink,
  pushImage,
} from './push.js';
export { type SaveFormat, type SaveItem, saveImagesStream, saveImagesToDir } from './save.js';
