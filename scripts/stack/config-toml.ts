/**
 * A deliberately tiny TOML reader for supabase/config.toml: `[table.headers]` and `key = value`
 * lines whose value is a string, boolean, number or single-line array. Enough to read the
 * `[functions.<name>]` tables; anything else is kept as raw text.
 */

export type TomlValue = string | number | boolean | TomlValue[];
export type TomlTables = Map<string, Record<string, TomlValue>>;

/** Parses the text into tables keyed by their dotted header ("" for top-level keys). */
export function parseTomlTables(text: string): TomlTables {
  const tables: TomlTables = new Map([["", {}]]);
  let current = tables.get("")!;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = stripComment(rawLine).trim();
    if (line === "") continue;
    const header = line.match(/^\[([^\[\]]+)\]$/);
    if (header) {
      const name = header[1].split(".").map((part) => unquote(part.trim())).join(".");
      current = tables.get(name) ?? {};
      tables.set(name, current);
      continue;
    }
    const equals = line.indexOf("=");
    if (equals < 0) continue;
    current[unquote(line.slice(0, equals).trim())] = parseValue(line.slice(equals + 1).trim());
  }
  return tables;
}

function stripComment(line: string): string {
  const hash = indexOutsideQuotes(line, "#", 0);
  return hash < 0 ? line : line.slice(0, hash);
}

/** Position of the next `char` at or after `from` that is not inside a quoted string, or -1. */
function indexOutsideQuotes(text: string, char: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const current = text[i];
    if (quote) {
      if (current === "\\" && quote === '"') i++;
      else if (current === quote) quote = null;
    } else if (current === '"' || current === "'") quote = current;
    else if (current === char) return i;
  }
  return -1;
}

function unquote(text: string): string {
  if (text.startsWith('"') && text.endsWith('"')) return JSON.parse(text);
  if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1);
  return text;
}

function parseValue(text: string): TomlValue {
  if (text === "true" || text === "false") return text === "true";
  if (/^[+-]?\d[\d_]*(\.\d+)?$/.test(text)) return Number(text.replace(/_/g, ""));
  if (text.startsWith('"') || text.startsWith("'")) return unquote(text);
  if (text.startsWith("[") && text.endsWith("]")) {
    const inner = text.slice(1, -1).trim();
    if (inner === "") return [];
    return splitArrayItems(inner).map((item) => parseValue(item.trim()));
  }
  return text;
}

function splitArrayItems(inner: string): string[] {
  const items: string[] = [];
  let start = 0;
  for (
    let comma = indexOutsideQuotes(inner, ",", 0);
    comma >= 0;
    comma = indexOutsideQuotes(inner, ",", start)
  ) {
    items.push(inner.slice(start, comma));
    start = comma + 1;
  }
  if (inner.slice(start).trim() !== "") items.push(inner.slice(start));
  return items;
}
