/**
 * A small structured logger. It is passed in, never imported as a global, so commands stay testable.
 * Events have dotted names (`makecatalogs.item.skipped`); the sink redacts secrets.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

/** What code that logs depends on. */
export interface Logger {
  debug(event: string, message: string, fields?: LogFields): void;
  info(event: string, message: string, fields?: LogFields): void;
  warn(event: string, message: string, fields?: LogFields): void;
  error(event: string, message: string, fields?: LogFields): void;
}

/** One recorded log entry, as a memory logger keeps it. */
export interface LogEntry {
  level: LogLevel;
  event: string;
  message: string;
  fields: LogFields | undefined;
}

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|key$/i;

/** Removes userinfo from URLs and masks password-like values so logs never carry secrets. */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@')
    .replace(/(authorization:\s*)(\S+\s+)?\S+/gi, '$1***');
}

function redactFields(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return undefined;
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = SECRET_KEY.test(k) ? '***' : typeof v === 'string' ? redact(v) : v;
  }
  return out;
}

/** A logger that writes human-readable lines: info to `out`, warnings and errors to `err`. */
export function streamLogger(options: {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
  verbose?: boolean;
  quiet?: boolean;
}): Logger {
  const write = (level: LogLevel, _event: string, message: string): void => {
    if (level === 'debug' && !options.verbose) return;
    if (level === 'info' && options.quiet) return;
    const line = redact(message) + '\n';
    if (level === 'warn' || level === 'error') options.err.write(line);
    else options.out.write(line);
  };
  return {
    debug: (e, m) => write('debug', e, m),
    info: (e, m) => write('info', e, m),
    warn: (e, m) => write('warn', e, m),
    error: (e, m) => write('error', e, m),
  };
}

/** A logger that records entries in memory; tests read `entries`. */
export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const rec =
    (level: LogLevel) =>
    (event: string, message: string, fields?: LogFields): void => {
      entries.push({ level, event, message: redact(message), fields: redactFields(fields) });
    };
  return {
    entries,
    debug: rec('debug'),
    info: rec('info'),
    warn: rec('warn'),
    error: rec('error'),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
