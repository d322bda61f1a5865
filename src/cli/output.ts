/** What a command prints: human text by default, one JSON document on stdout with --json. */
export interface Output {
  readonly json: boolean;
  /** The command's result. With --json, `data` as JSON on stdout; otherwise `human(data)`. */
  result<T>(data: T, human: (data: T) => string | string[]): void;
  /** Progress and notes for people; stderr, so JSON on stdout stays parseable. */
  note(message: string): void;
}

export function createOutput(json: () => boolean, streams = { out: process.stdout, err: process.stderr }): Output {
  return {
    get json() {
      return json();
    },
    result(data, human) {
      if (json()) {
        streams.out.write(`${JSON.stringify(data, null, 2)}\n`);
        return;
      }
      const text = human(data);
      const lines = Array.isArray(text) ? text : [text];
      if (lines.length) streams.out.write(`${lines.join('\n')}\n`);
    },
    note(message) {
      streams.err.write(`${message}\n`);
    },
  };
}

/** Left-aligned columns for human output; empty cells print as "-". */
export function table(headers: string[], rows: (string | number | undefined | null)[][]): string[] {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined || c === null || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}
