/**
 * A cleanup policy's extra condition (`where`), parsed rather than pasted into SQL: conditions joined by AND,
 * each `column op value`, `column IS [NOT] NULL` or `column [NOT] IN (value, …)`, where a value is a
 * 'string', a number, true/false, or `now() - interval '30 days'`. Anything else (OR, parentheses,
 * functions, subqueries, comments, a second statement) is refused, so the condition can only narrow
 * which expired rows go, never widen it.
 */

export type WhereValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'ago'; interval: string };

export type WhereCondition =
  | { column: string; op: '=' | '<>' | '<' | '<=' | '>' | '>='; value: WhereValue }
  | { column: string; op: 'is null' | 'is not null' }
  | { column: string; op: 'in' | 'not in'; values: WhereValue[] };

const UNITS = 'second|minute|hour|day|week|month|year';
const INTERVAL = new RegExp(`^\\d{1,6} (?:${UNITS})s?$`);
const TOKEN = /\s*(?:('(?:[^']|'')*')|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<>|!=|<=|>=|[=<>(),-]))/y;

type Token = { kind: 'string' | 'number' | 'word' | 'symbol'; text: string };

function tokenize(text: string): Token[] | string {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    if (/^\s*$/.test(text.slice(at))) break;
    const m = TOKEN.exec(text);
    if (!m) return `unexpected "${text.slice(at).trim().slice(0, 20)}"`;
    if (m[1] !== undefined) tokens.push({ kind: 'string', text: m[1].slice(1, -1).replace(/''/g, "'") });
    else if (m[2] !== undefined) tokens.push({ kind: 'number', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'word', text: m[3] });
    else tokens.push({ kind: 'symbol', text: m[4] === '!=' ? '<>' : m[4] });
  }
  return tokens;
}

/** The parsed conditions, or why the text is not one. */
export function parseCleanupWhere(text: string): WhereCondition[] | string {
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return `${tokens}: ${FORM}`;
  let i = 0;
  const peek = () => tokens[i];
  const word = (w: string) => peek()?.kind === 'word' && peek().text.toLowerCase() === w;
  const symbol = (s: string) => peek()?.kind === 'symbol' && peek().text === s;
  const fail = (what: string) => `${what}${peek() ? ` at "${peek().text}"` : ' at the end'}: ${FORM}`;

  function value(): WhereValue | string {
    const t = peek();
    if (!t) return fail('a value is missing');
    if (t.kind === 'string') return (i++, { kind: 'string', value: t.text });
    if (t.kind === 'number') return (i++, { kind: 'number', value: t.text });
    if (word('true') || word('false')) return (i++, { kind: 'boolean', value: t.text.toLowerCase() === 'true' });
    if (word('now')) {
      i++;
      if (!symbol('(')) return fail('expected now()');
      i++;
      if (!symbol(')')) return fail('expected now()');
      i++;
      if (!symbol('-')) return fail("expected now() - interval '…'");
      i++;
      if (!word('interval')) return fail("expected now() - interval '…'");
      i++;
      const iv = peek();
      if (iv?.kind !== 'string' || !INTERVAL.test(iv.text.trim().toLowerCase()))
        return fail(`an interval must read like '30 days' (${UNITS.split('|').join(', ')})`);
      i++;
      return { kind: 'ago', interval: iv.text.trim().toLowerCase() };
    }
    return fail('expected a value');
  }

  function condition(): WhereCondition | string {
    const col = peek();
    if (col?.kind !== 'word' || ['and', 'or', 'not'].includes(col.text.toLowerCase())) return fail('expected a column name');
    i++;
    const column = col.text.toLowerCase();
    if (word('is')) {
      i++;
      const not = word('not') ? (i++, true) : false;
      if (!word('null')) return fail('expected IS [NOT] NULL');
      i++;
      return { column, op: not ? 'is not null' : 'is null' };
    }
    const negated = word('not') ? (i++, true) : false;
    if (word('in')) {
      i++;
      if (!symbol('(')) return fail('expected ( after IN');
      i++;
      const values: WhereValue[] = [];
      for (;;) {
        const v = value();
        if (typeof v === 'string') return v;
        values.push(v);
        if (symbol(',')) i++;
        else break;
      }
      if (!symbol(')')) return fail('expected ) closing IN (…)');
      i++;
      return { column, op: negated ? 'not in' : 'in', values };
    }
    if (negated) return fail('expected NOT IN');
    const op = peek();
    if (op?.kind !== 'symbol' || !['=', '<>', '<', '<=', '>', '>='].includes(op.text))
      return fail('expected an operator (=, <>, <, <=, >, >=)');
    i++;
    const v = value();
    if (typeof v === 'string') return v;
    return { column, op: op.text as '=', value: v };
  }

  const conditions: WhereCondition[] = [];
  for (;;) {
    const c = condition();
    if (typeof c === 'string') return c;
    conditions.push(c);
    if (!peek()) break;
    if (!word('and')) return fail('conditions can only be joined by AND');
    i++;
  }
  return conditions;
}

const FORM =
  "use conditions joined by AND, each column = 'value' (or <>, <, <=, >, >=), column IS [NOT] NULL, column [NOT] IN ('a', 'b'), or column < now() - interval '30 days'";

/** The conditions as SQL: identifiers quoted, values through `literal` (the driver's escaping). */
export function cleanupWhereSql(conditions: WhereCondition[], literal: (v: string) => string, ident: (name: string) => string): string {
  const val = (v: WhereValue): string => {
    switch (v.kind) {
      case 'string':
        return literal(v.value);
      case 'number':
        return v.value; // digits only (the tokenizer's number form)
      case 'boolean':
        return v.value ? 'true' : 'false';
      case 'ago':
        return `now() - ${literal(v.interval)}::interval`;
    }
  };
  return conditions
    .map((c) => {
      const col = ident(c.column);
      if ('values' in c) return `${col} ${c.op.toUpperCase()} (${c.values.map(val).join(', ')})`;
      if ('value' in c) return `${col} ${c.op} ${val(c.value)}`;
      return `${col} ${c.op.toUpperCase()}`;
    })
    .join(' AND ');
}
