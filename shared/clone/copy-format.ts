/**
 * Which COPY format a table travels in: binary when both servers read it the same way, text
 * otherwise. Binary skips the text output and input functions of every value on both servers
 * (most of the data phase's server CPU), but its form is only fixed within one major version and
 * it carries what text never does: array elements and composite fields embed their type's OID,
 * and OID-alias types (regclass, ...) send the source's OIDs, which mean something else on the
 * target. The rule here is pure; the facts come from the source catalog (catalog-copy-format.ts)
 * and the target's version, read once per job at preflight.
 */

/** PostgreSQL's FirstNormalObjectId: OIDs below it are assigned by initdb, the same for one major. */
const FIRST_NORMAL_OID = 16384;

/** One type as the rule needs it. */
export interface TypeFacts {
  oid: number;
  schema: string;
  name: string;
  /** pg_type.typtype: b base, c composite, d domain, e enum, r range, m multirange, p pseudo. */
  kind: string;
  /** Has both a binary send and a binary receive function. */
  binaryIo: boolean;
  /** Belongs to an extension (created by it, in whatever version the target has). */
  extension: boolean;
}

/** A column's type: the domains it is declared through, outermost first, down to its base type. */
export interface ColumnTypeFacts {
  domains: TypeFacts[];
  base: TypeFacts;
  /** The base's element type when the base is an array (its binary form embeds the element's OID). */
  element: TypeFacts | null;
}

/**
 * True when every column's values, sent in COPY binary by a server of the source's major, are
 * received as the same values by a target of the same major: built-in types (OIDs below 16384,
 * in pg_catalog) with binary I/O and arrays of them, enums (enum_send sends the label), and
 * domains over either, as long as every domain and enum is one the clone creates itself (in a
 * cloned schema, not an extension's): a pre-existing one on the target could differ. Never
 * composite types or arrays of user types (their OIDs travel), OID aliases, extension types.
 * A column whose facts are missing makes the table text.
 */
export function binaryPortable(
  columns: (ColumnTypeFacts | undefined)[],
  clonedSchemas: readonly string[],
): boolean {
  const clonedHere = (t: TypeFacts) => clonedSchemas.includes(t.schema) && !t.extension;
  return columns.every((column) => {
    if (!column) return false; // a type the catalog read did not describe: text, to be safe
    const { domains, base, element } = column;
    if (!domains.every(clonedHere)) return false;
    if (base.kind === "e") return clonedHere(base);
    if (!builtinScalar(base)) return false;
    return element === null || builtinScalar(element);
  });
}

/** A built-in, non-composite type whose binary form holds no OID of the source's. */
function builtinScalar(t: TypeFacts): boolean {
  return t.schema === "pg_catalog" && t.oid < FIRST_NORMAL_OID && t.binaryIo && t.kind !== "c" &&
    t.kind !== "p" && !/^_?reg/.test(t.name);
}

/** server_version_num's major version (150004 → 15). */
export function majorVersion(serverVersionNum: number): number {
  return Math.floor(serverVersionNum / 10000);
}

export type CopyFormat = "binary" | "text";

/** COPY's format for a table: binary only when the job allows it (same major) and its columns do. */
export function copyFormat(
  table: { binaryPortable?: boolean },
  binaryAllowed: boolean | undefined,
): CopyFormat {
  return binaryAllowed === true && table.binaryPortable === true ? "binary" : "text";
}
