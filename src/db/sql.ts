/** An SQL identifier, quoted so any name (quotes included) is taken literally. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The same connection string pointing at another database on the same server. */
export function urlForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Query text fit to show in chat or on an incident timeline: string, dollar-quoted and numeric literals
 * become `?` (they may hold emails, tokens, user data), comments go, whitespace folds, and the result is
 * cut to `max` characters. An unterminated literal (text already cut by the server) is replaced to its end.
 */
export function redactQuery(sql: string, max = 200): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  const identChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_$]/u.test(c);
  while (i < n && out.length <= max * 4) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
      out += ' ';
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      out += ' ';
    } else if (c === '"') {
      // A quoted identifier is kept as it is.
      let j = i + 1;
      while (j < n && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === "'") {
      // E'…' strings escape with backslashes; a standard string only doubles its quotes.
      const backslashes = /[eE]$/.test(out) && !identChar(out.at(-2));
      let j = i + 1;
      while (j < n) {
        if (backslashes && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      if (/[eEbBxXnNuU&]$/.test(out) && !identChar(out.at(-2))) out = out.slice(0, -1);
      out += '?';
      i = j + 1;
    } else if (c === '$' && !identChar(out.at(-1))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        out += '?';
        i = end < 0 ? n : end + tag[0].length;
      } else {
        // $1: a parameter, kept.
        const param = /^\$\d+/.exec(sql.slice(i));
        out += param ? param[0] : c;
        i += param ? param[0].length : 1;
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next ?? ''))) {
      if (identChar(out.at(-1))) {
        out += c;
        i++;
      } else {
        const num = /^(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?)/.exec(sql.slice(i));
        out += '?';
        i += num ? Math.max(1, num[0].length) : 1;
      }
    } else {
      out += c;
      i++;
    }
  }
  const text = out.replace(/\s+/g, ' ').trim();
  return text.length > max || i < n ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}
