// build/: Dockerfiles into images. A pure parser (syntax tree, BuildKit's word expansion), the
// build context (.dockerignore, source resolution, content digests), and an executor that runs
// RUN steps in containers, writes COPY/ADD layers directly, caches every step, and scans each
// new layer for secrets. Builds are reproducible by default: one timestamp, clamped mtimes,
// numeric owners, sorted tars, a fixed gzip, canonical JSON.

export type { Dockerfile, Instruction, Stage } from './_ast.js';
export { type SweepReport, sweepDeadBuilds } from './_cleanup.js';
export type { BuildEvent, LayerFinding } from './_events.js';
export {
  type BuildDeps,
  type BuildRequest,
  type BuildResult,
  type BuildSecret,
  buildImage,
} from './_executor.js';
export { readIgnoreFile } from './_ignore.js';
export { DockerfileSyntaxError, parseDockerfile } from './_parser.js';
export {
  MAX_STDIN_CONTEXT_BYTES,
  readStdinContext,
  readStdinDockerfile,
  type StdinLimits,
} from './_stdin.js';
