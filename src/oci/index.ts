// oci/: pure types and validators for the OCI image/distribution/runtime specs and docker's
// schema 2: digests, media types, descriptors, manifests, configs, references, platforms.
// Nothing here does I/O.

export * from './container-state.js';
export * from './digest.js';
export * from './image.js';
export * from './mediatypes.js';
export * from './platform.js';
export * from './reference.js';
export * from './runtime-spec.js';
