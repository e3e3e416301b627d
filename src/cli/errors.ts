// Errors the CLI reports as one line on stderr with exit code 1, never as a stack trace.
import { ControlError } from "../client/index.ts";
import { CrushTestError, isCrushInputError, RuleSpecError } from "../crush/index.ts";
import { isJournalOpenError } from "../journal/index.ts";
import { ConfigError } from "../orchestrator/index.ts";
import { KeyFileError } from "../security/index.ts";
import { TopologyError } from "../topology/index.ts";
import { TrackerConfigError } from "../tracker/index.ts";

/** A command used wrongly (bad flag value, missing argument, unknown rule). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** true for errors caused by the user's input rather than by a bug in dsat. */
export function isUserError(error: unknown): error is Error {
  return (
    error instanceof UsageError ||
    error instanceof CrushTestError ||
    error instanceof RuleSpecError ||
    error instanceof RangeError ||
    error instanceof TopologyError ||
    error instanceof ConfigError ||
    error instanceof TrackerConfigError ||
    error instanceof ControlError ||
    error instanceof KeyFileError ||
    isCrushInputError(error)
  );
}

/**
 * The exit code for a journal that cannot be opened (its one-line message is printed as is), or null
 * for other errors. sysexits.h: 75 (EX_TEMPFAIL) another live process holds the directory, try again
 * once it stops; 74 (EX_IOERR) a segment or the directory cannot be read, or a repair cannot be written.
 */
export function journalOpenExitCode(error: unknown): number | null {
  if (!isJournalOpenError(error)) return null;
  return error.code === "JOURNAL_LOCKED" ? 75 : 74;
}
