// util/: small shared mechanisms: atomic writes, keyed file locks, stream helpers, a typed
// event channel, and the syscalls Node's fs lacks (mknod, xattrs, mount, flock) via koffi.

export * from './_syscalls.js';
export * from './duration.js';
export * from './events.js';
export * from './fs.js';
export * from './lock.js';
export * from './proc.js';
export * from './rootpath.js';
export * from './stream.js';
