/**
 * The project's small set of typed errors. Callers match on `code`, never on message text.
 * Only the entry points (bin/, the CLIs) turn these into text and exit codes.
 */

/** Stable error codes; add here rather than inventing ad-hoc strings. */
export type ErrorCode =
  | 'USAGE' // unknown flag, missing argument
  | 'PLIST_INVALID' // malformed XML or binary plist
  | 'SCHEMA_INVALID' // a plist that parses but violates the pkginfo/manifest schema
  | 'PATH_UNSAFE' // a name from the repo tried to leave its folder
  | 'REPO_INVALID' // repo folder missing or not a Munki repo
  | 'NOT_FOUND' // a file or item that should exist does not
  | 'IO' // a read or write failed
  | 'CONDITION_INVALID' // a predicate that does not parse
  | 'ARCHIVE_INVALID' // a xar/cpio/pbzx archive that is malformed or truncated
  | 'HTTP_STATUS' // a server answered with an error status
  | 'NETWORK' // the server could not be reached
  | 'HASH_MISMATCH' // a download does not match its expected hash
  | 'ALREADY_RUNNING' // another run holds the lock
  | 'COMMAND_FAILED' // a subprocess exited non-zero
  | 'CONFIG_INVALID'; // a preference with a bad value

/** Which exit code an error maps to: 2 for bad input, 1 for runtime failures. */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'USAGE',
  'PLIST_INVALID',
  'SCHEMA_INVALID',
  'PATH_UNSAFE',
  'REPO_INVALID',
  'CONDITION_INVALID',
  'ARCHIVE_INVALID',
  'CONFIG_INVALID',
]);

export interface AppErrorOptions {
  /** Something an admin can do about it. */
  hint?: string;
  cause?: unknown;
}

/** An error a Mac admin can read: a stable code, a message with context, and an optional hint. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
  }

  /** The process exit code this error should end a CLI with. */
  get exitCode(): 1 | 2 {
    return BAD_INPUT.has(this.code) ? 2 : 1;
  }
}

/** A plist that cannot be parsed; `source` names the file or URL, `line`/`offset` where it broke. */
export class PlistError extends AppError {
  readonly source: string | undefined;
  readonly line: number | undefined;
  readonly offset: number | undefined;

  constructor(
    message: string,
    where: {
      source?: string | undefined;
      line?: number | undefined;
      offset?: number | undefined;
    } = {},
  ) {
    const at =
      where.line !== undefined
        ? ` (line ${where.line})`
        : where.offset !== undefined
          ? ` (offset ${where.offset})`
          : '';
    super('PLIST_INVALID', `${where.source ?? 'plist'}${at}: ${message}`);
    this.name = 'PlistError';
    this.source = where.source;
    this.line = where.line;
    this.offset = where.offset;
  }
}

/** True when `e` is an AppError with the given code. */
export function isAppError(e: unknown, code?: ErrorCode): e is AppError {
  return e instanceof AppError && (code === undefined || e.code === code);
}

/** A one-line description of any thrown value, for logs and the CLI's stderr line. */
export function describeError(e: unknown): string {
  if (e instanceof AppError) return e.hint ? `${e.message} (${e.hint})` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
