/** What a CLI command is: the table in index.ts lists them, one file per command group defines them. */
import type { ParseArgsConfig } from 'node:util';
import type { Studio } from '../host/studio';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface Output {
  /** The --json object (`ok: true` is added); null when the command printed it itself (serve). */
  json: Record<string, unknown> | null;
  text: string;
}

/** `--engine ssh://...` of the commands that run the engine (the Studio is made with that engine). */
export const ENGINE_OPTION: Options = { engine: { type: 'string' } };

export interface Command {
  /** Words after `transfer-studio`, e.g. 'project create'. */
  name: string;
  args: string;
  summary: string;
  /** Internal commands (what a cluster's task runs) are left out of the usage text. */
  hidden?: boolean;
  options?: Options;
  /** Number of required positionals, then optional ones. */
  positionals: { required: string[]; optional?: string[] };
  run(ctx: { studio: Studio; args: string[]; values: Values; json: boolean }): Promise<Output>;
  /** A command that runs without a Studio (the engine itself): returns its exit code; `run` is not called. */
  standalone?(ctx: { args: string[]; values: Values }): Promise<number>;
}
