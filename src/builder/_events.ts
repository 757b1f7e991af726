// What a build reports while it runs. Library code never prints: cli/ renders these.

export type BuildEvent =
  /** A step starts: `id` numbers steps across stages (BuildKit's #N). */
  | { type: 'step'; id: number; stage: string; index: number; total: number; text: string }
  | { type: 'cached'; id: number }
  | { type: 'output'; id: number; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'done'; id: number; ms: number }
  | { type: 'failed'; id: number; message: string; output: string[] }
  | { type: 'warning'; message: string };

/** A secret or key found in a layer the build produced. */
export interface LayerFinding {
  step: string;
  path: string;
  kind: string;
  detail: string;
}
