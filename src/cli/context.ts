import type { Engine } from '../engine/index.js';
import type { CommandSpec, ParsedArgs } from './args.js';

export interface GlobalOptions {
  root: string;
  runroot: string;
  version?: boolean;
  help?: boolean;
  debug?: boolean;
}

export interface CommandContext {
  globals: GlobalOptions;
  /** The engine, created on first use (opens the store lazily). */
  engine(options?: { authFile?: string; tlsVerify?: boolean }): Promise<Engine>;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  close(): Promise<void>;
}

export interface CommandModule {
  spec: CommandSpec;
  run(ctx: CommandContext, parsed: ParsedArgs): Promise<number | undefined>;
}

export function createContext(globals: GlobalOptions): CommandContext {
  let engine: Engine | undefined;
  return {
    globals,
    async engine(options = {}) {
      if (!engine) {
        const mod = await import('../engine/index.js');
        engine = mod.createEngine({ root: globals.root, runroot: globals.runroot, ...options });
      }
      return engine;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    async close() {
      engine?.close();
    },
  };
}
