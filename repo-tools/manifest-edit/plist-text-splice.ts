/**
 * Splices elements into and out of an XML plist's text in the file's own layout: new lines take
 * the indentation of their siblings (or the container's plus the file's indent unit) and the
 * file's line ending, so editing a manifest written by Munki, by plutil or by hand changes only
 * the lines that really change.
 */
import { buildPlistFragment, type PlistValue } from '../../formats/index.js';
import type { ArrayNode, DictNode, PlistTextNode } from './plist-text-tree.js';

/** How a file is laid out: its line ending and one level of indentation. */
export interface TextLayout {
  newline: '\n' | '\r\n';
  unit: string;
}

/** A span of text: an element, or a dict entry from its `<key>` to the end of its value. */
export interface TextSpan {
  start: number;
  end: number;
}

/** Reads the line ending and the most common indentation step of the file. */
export function layoutOf(text: string, root: PlistTextNode): TextLayout {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const steps = new Map<string, number>();
  const visit = (node: PlistTextNode): void => {
    if (node.kind === 'scalar') return;
    const children =
      node.kind === 'array' ? node.items : node.entries.map((e) => ({ start: e.keyNode.start }));
    const first = children[0];
    const own = indentOfLine(text, node.start);
    const inner = first && lineIndentBefore(text, first.start);
    if (inner !== undefined && inner.startsWith(own) && inner.length > own.length) {
      const step = inner.slice(own.length);
      steps.set(step, (steps.get(step) ?? 0) + 1);
    }
    for (const child of node.kind === 'array' ? node.items : node.entries.map((e) => e.value))
      visit(child);
  };
  visit(root);
  let unit = '\t';
  let best = 0;
  for (const [step, count] of steps) {
    if (count > best) [unit, best] = [step, count];
  }
  return { newline, unit };
}

/** The lines of `value` as plistlib writes them, tabs marking relative depth. */
export function valueLines(value: PlistValue): string[] {
  return buildPlistFragment(value, 0).replace(/\n$/, '').split('\n');
}

/** The `<key>` line and value lines of one dict entry, at relative depth 0. */
export function entryLines(key: string, value: PlistValue): string[] {
  // Built as a one-entry dict so the key is escaped exactly as the builder escapes keys.
  const lines = valueLines({ [key]: value }).slice(1, -1);
  return lines.map((l) => l.replace(/^\t/, ''));
}

/**
 * Inserts `lines` (relative depth as leading tabs) into `container` before the child starting at
 * `before`, or after its last child; an empty `<array/>` or `<dict/>` is opened up to hold them.
 */
export function insertLines(
  text: string,
  layout: TextLayout,
  container: ArrayNode | DictNode,
  before: TextSpan | undefined,
  lines: readonly string[],
): string {
  const starts = childSpans(container);
  const first = starts[0];
  const own = indentOfLine(text, container.start);
  if (first === undefined) {
    const inner = own + layout.unit;
    const body = render(lines, inner, layout);
    const close = `</${container.kind}>`;
    if (container.isEmptyTag) {
      const open = text.slice(container.start, container.end).replace(/\s*\/>$/, '>');
      return splice(
        text,
        container.start,
        container.end,
        `${open}${layout.newline}${inner}${body}${layout.newline}${own}${close}`,
      );
    }
    const between = text.slice(container.openEnd, container.closeStart);
    if (/[\r\n]/.test(between)) {
      return splice(text, container.openEnd, container.openEnd, `${layout.newline}${inner}${body}`);
    }
    return splice(
      text,
      container.openEnd,
      container.closeStart,
      `${layout.newline}${inner}${body}${layout.newline}${own}`,
    );
  }
  const indent = lineIndentBefore(text, first.start);
  if (indent === undefined) {
    // Children written on one line: keep it one line, separated as the first two are.
    const second = starts[1];
    const gap = second ? text.slice(starts[0]!.end, second.start) : '';
    const sep = /^\s*$/.test(gap) ? gap : '';
    const inline = lines.map((l) => l.replace(/^\t+/, '')).join(sep);
    if (before) return splice(text, before.start, before.start, inline + sep);
    const last = starts[starts.length - 1]!;
    return splice(text, last.end, last.end, sep + inline);
  }
  const body = render(lines, indent, layout);
  if (before) {
    const at = lineStart(text, before.start);
    if (lineIndentBefore(text, before.start) !== undefined) {
      return splice(text, at, at, `${indent}${body}${layout.newline}`);
    }
    return splice(text, before.start, before.start, `${body}${layout.newline}${indent}`);
  }
  const last = starts[starts.length - 1]!;
  const eol = lineEnd(text, last.end);
  // After a trailing comment on the last child's line, but before anything else on it.
  const rest = text.slice(last.end, eol);
  const at = /^\s*(<!--[\s\S]*?-->\s*)*$/.test(rest) ? eol : last.end;
  return splice(text, at, at, `${layout.newline}${indent}${body}`);
}

/** Removes `span`, and its whole line when nothing else is on it. */
export function removeSpan(text: string, span: TextSpan): string {
  const from = lineStart(text, span.start);
  const eol = lineEnd(text, span.end);
  const isAlone =
    /^[ \t]*$/.test(text.slice(from, span.start)) && /^[ \t]*$/.test(text.slice(span.end, eol));
  if (!isAlone) return splice(text, span.start, span.end, '');
  const next = text.startsWith('\r\n', eol) ? eol + 2 : text.startsWith('\n', eol) ? eol + 1 : eol;
  return splice(text, from, next, '');
}

/** The spans of a container's children (for a dict, each entry from key to value). */
export function childSpans(container: ArrayNode | DictNode): TextSpan[] {
  if (container.kind === 'array')
    return container.items.map((i) => ({ start: i.start, end: i.end }));
  return container.entries.map((e) => ({ start: e.keyNode.start, end: e.value.end }));
}

function render(lines: readonly string[], indent: string, layout: TextLayout): string {
  return lines
    .map((line, i) => {
      const depth = /^\t*/.exec(line)![0].length;
      const body = line.slice(depth);
      return (i === 0 ? '' : indent) + layout.unit.repeat(depth) + body;
    })
    .join(layout.newline);
}

function splice(text: string, from: number, to: number, insert: string): string {
  return text.slice(0, from) + insert + text.slice(to);
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

/** Index of the line ending after `pos` (of the `\r` in `\r\n`), or the text's end. */
function lineEnd(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  if (nl < 0) return text.length;
  return text[nl - 1] === '\r' ? nl - 1 : nl;
}

/** The whitespace before `pos` on its line, or undefined when something else precedes it. */
function lineIndentBefore(text: string, pos: number): string | undefined {
  const prefix = text.slice(lineStart(text, pos), pos);
  return /^[ \t]*$/.test(prefix) ? prefix : undefined;
}

/** The leading whitespace of the line holding `pos`. */
function indentOfLine(text: string, pos: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart(text, pos)))![0];
}
