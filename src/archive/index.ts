// archive/: tar streams <-> filesystem changes. Our own streaming tar reader and deterministic
// writer, gzip/zstd, diffID hashing, and layer unpacking into overlay format (OCI whiteouts ->
// overlay whiteouts) that treats every tar as hostile (no path escapes, no symlink traversal).

export {
  type ArchiveCompression,
  isTarArchiveFile,
  sniffArchiveCompression,
  unpackArchiveFile,
} from './_archive-file.js';
export {
  type CompressOptions,
  compressStream,
  decompressExternal,
  decompressStream,
  diffIdOfTar,
  type ExternalCodec,
} from './_compression.js';
export { MAX_PATH_BYTES, MAX_PAX_BYTES, type TarEntryType, type TarHeader } from './_format.js';
export { readTar, type TarEntry, type TarHandlers, TarParser } from './_tar-reader.js';
export { type TarDirectoryOptions, type TarEntryInput, tarDirectory, writeTar } from './_tar-writer.js';
export { type DirCreate, isDirStat, isLinkStat, pathParts, type StatAt, TreeWriter } from './_tree-writer.js';
export { cleanName, type UnpackOptions, type UnpackResult, unpackLayer } from './_unpack.js';
export {
  classifyOciName,
  isOciWhiteoutName,
  isOpaqueDir,
  isOverlayWhiteout,
  isOverlayXattr,
  markOpaque,
  type OciName,
  OPAQUE_MARKER,
  OPAQUE_XATTR,
  ociOpaqueEntryName,
  ociWhiteoutName,
  WHITEOUT_PREFIX,
  writeOverlayWhiteout,
} from './_whiteouts.js';
