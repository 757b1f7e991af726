// The Dockerfile syntax tree shared by the parser (pure) and the executor. Words are kept raw
// (unexpanded): variable substitution needs the build args and the stage's ENV, which only the
// executor knows, so it calls `expandInstruction` at dispatch time, as BuildKit does.

/** Where an instruction starts in the Dockerfile (1-based line and column). */
export interface SourceLocation {
  line: number;
  column: number;
  /** Last physical line of the instruction (continuations and heredocs included). */
  endLine: number;
}

/** `RUN`, `CMD`, `ENTRYPOINT`, `SHELL` arguments: JSON array or a shell string. */
export type CommandForm = { form: 'exec'; args: string[] } | { form: 'shell'; text: string };

/** A heredoc body following an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`). */
export interface Heredoc {
  /** The delimiter word without quotes. */
  name: string;
  /** Body text; for `<<-` leading tabs are already stripped. Ends with "\n" unless empty. */
  content: string;
  /** False when the delimiter was quoted: the body is then not variable-expanded. */
  expand: boolean;
  /** True for `<<-`. */
  chomp: boolean;
}

/** Flags before the arguments (`--from=build`, `--mount=...` repeated). Raw, unexpanded. */
export type InstructionFlags = Record<string, string[]>;

interface Base {
  loc: SourceLocation;
  /** The instruction as written, continuations joined, heredoc bodies excluded. */
  original: string;
  flags: InstructionFlags;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** Stage name from `AS name`, lower-cased. */
  stageName?: string;
  platform?: string;
}
export interface RunInstruction extends Base {
  kind: 'RUN';
  command: CommandForm;
  heredocs: Heredoc[];
  /** Raw `--mount` specs, in order. */
  mounts: string[];
  network?: string;
  security?: string;
}
export interface CmdInstruction extends Base {
  kind: 'CMD';
  command: CommandForm;
}
export interface EntrypointInstruction extends Base {
  kind: 'ENTRYPOINT';
  command: CommandForm;
}
export interface ShellInstruction extends Base {
  kind: 'SHELL';
  /** Must be exec form in Dockerfiles. */
  args: string[];
}
export interface KeyValue {
  key: string;
  value: string;
}
export interface EnvInstruction extends Base {
  kind: 'ENV';
  /** `ENV a=b c=d` and the legacy `ENV a b c` (value = "b c"). Values keep quotes until expanded. */
  pairs: KeyValue[];
}
export interface LabelInstruction extends Base {
  kind: 'LABEL';
  pairs: KeyValue[];
}
export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: { name: string; defaultValue?: string }[];
}
export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  /** Source words (may name heredocs as `<<EOF`). */
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** ADD only. */
  checksum?: string;
  keepGitDir?: boolean;
  /** COPY --parents, --exclude: accepted and kept. */
  parents: boolean;
  excludes: string[];
}
export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  ports: string[];
}
export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  paths: string[];
}
export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}
export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}
export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}
export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  name: string;
}
export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  /** `HEALTHCHECK NONE` → test ["NONE"]; CMD form → ["CMD", ...args] or ["CMD-SHELL", text]. */
  test: string[];
  /** Nanoseconds, as in the image config; absent when not given. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}
export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger as written after ONBUILD (e.g. "RUN echo hi"). */
  trigger: string;
  /** The parsed trigger (never FROM, ONBUILD or MAINTAINER). */
  instruction: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | CopyInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | StopSignalInstruction
  | MaintainerInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

export interface Stage {
  /** 0-based position among the FROMs. */
  index: number;
  from: FromInstruction;
  /** Instructions after FROM, up to the next FROM. */
  instructions: Instruction[];
}

export interface Dockerfile {
  /** From `# syntax=` / `# escape=` / `# check=` directives at the top. */
  directives: { syntax?: string; escape: '\\' | '`'; check?: string };
  /** ARGs before the first FROM (usable only in FROM lines, and re-declared inside stages). */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  /** Non-fatal findings (e.g. empty continuation lines, MAINTAINER deprecated). */
  warnings: { loc: SourceLocation; message: string }[];
}
