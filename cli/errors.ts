/**
 * Errors of the command-line interface and their exit codes.
 *
 * @module
 */

/** Exit code: success. */
export const EXIT_OK = 0;
/** Exit code: `compare` found a regression (or a baseline run is missing). */
export const EXIT_REGRESSION = 1;
/** Exit code: bad input (command, option, scheme, workload, parameter, file, output directory). */
export const EXIT_USAGE = 2;
/** Exit code: a simulation run failed (oracle mismatch, leak, internal error). */
export const EXIT_RUN_FAILED = 3;

/**
 * An error the CLI reports as one line on stderr, `error: <message>`, with its exit code.
 *
 * @example Usage
 * ```ts
 * import { CliError, EXIT_USAGE } from "./errors.ts";
 * const e = new CliError('Unknown command "x"; valid: bench, run');
 * if (e.exitCode !== EXIT_USAGE) throw new Error("unexpected");
 * ```
 */
export class CliError extends Error {
  /** Process exit code to use. */
  readonly exitCode: number;
  /** Creates the error; the exit code defaults to {@link EXIT_USAGE}. */
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/**
 * Formats any error as the one line the CLI prints: `error: ` and the message with its first
 * letter in lower case (unless the word is an acronym), newlines folded into spaces.
 *
 * @example Usage
 * ```ts
 * import { errorLine } from "./errors.ts";
 * if (errorLine(new Error("Unknown scheme \"x\"")) !== 'error: unknown scheme "x"') {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function errorLine(error: unknown): string {
  let text = error instanceof Error ? error.message : String(error);
  text = text.replace(/\s*\n\s*/g, " ").trim();
  if (/^[A-Z][a-z]/.test(text)) text = text[0].toLowerCase() + text.slice(1);
  return `error: ${text}`;
}
