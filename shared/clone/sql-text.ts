/** Quotes an identifier the way quote_ident does, always (so case and odd characters survive). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."name"` */
export function qualifiedName(relation: { schema: string; name: string }): string {
  return `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`;
}

/**
 * A string constant for SQL text that cannot take parameters (COPY). The E'' form escapes both quote
 * and backslash, so it reads the same whatever standard_conforming_strings is.
 */
export function quoteLiteral(value: string): string {
  return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}
