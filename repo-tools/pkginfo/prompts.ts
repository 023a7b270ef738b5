/**
 * `repo import`'s questions. On a terminal each one is asked and an empty answer keeps the value
 * shown in brackets; without one (`-n`, a pipe, CI) nothing is asked and every default stands, so
 * an AutoPkg-style pipeline sets everything with flags.
 */
import { createInterface } from 'node:readline';

/** How import asks the admin things. */
export interface Prompter {
  readonly isInteractive: boolean;
  /** The answer, or `defaultValue` when the answer is empty (or there is no one to ask). */
  ask(question: string, defaultValue: string): Promise<string>;
  /** True only for an answer starting with y (Munki's `[y/N]`). */
  confirm(question: string): Promise<boolean>;
  /** Stops reading input. */
  close(): void;
}

/** Never asks: every question gets its default, every confirmation is yes. */
export const noPrompter: Prompter = {
  isInteractive: false,
  ask: (_question, defaultValue) => Promise.resolve(defaultValue),
  confirm: () => Promise.resolve(true),
  close: () => {},
};

/** Asks on `output` and reads one line of `input` per question. */
export function terminalPrompter(
  input: NodeJS.ReadableStream,
  output: { write(s: string): unknown },
): Prompter {
  const rl = createInterface({ input, terminal: false });
  // The iterator buffers lines typed (or piped) ahead of the question that wants them.
  const lines = rl[Symbol.asyncIterator]();
  const next = async (): Promise<string | undefined> => {
    const r = await lines.next();
    return r.done === true ? undefined : String(r.value);
  };
  return {
    isInteractive: true,
    async ask(question, defaultValue) {
      output.write(`${question}${defaultValue === '' ? '' : ` [${defaultValue}]`}: `);
      const answer = (await next())?.trim() ?? '';
      return answer === '' ? defaultValue : answer;
    },
    async confirm(question) {
      output.write(`${question} [y/N] `);
      return /^y/i.test((await next())?.trim() ?? '');
    },
    close: () => rl.close(),
  };
}
