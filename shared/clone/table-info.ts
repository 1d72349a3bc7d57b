/**
 * One table as the data copy sees it. The catalog planner (schema-plan.ts) builds these; the shape
 * lives here so the copy and the verification do not depend on how the plan is made.
 */
export interface TableInfo {
  schema: string;
  name: string;
  /** Raw column names to COPY, in order (generated columns already excluded). */
  columns: string[];
  /** Chunking key (primary key, or a unique NOT NULL key); null when the table has none. */
  key: { column: string; type: string }[] | null;
  estimatedRows: number;
  /** Partitioned parents hold no rows of their own and are never copied directly. */
  partitioned: boolean;
  /**
   * Every copied column's type has the same COPY binary form on any server of the source's major
   * (copy-format.ts); absent in plans recorded before the rule existed (they copy as text).
   */
  binaryPortable?: boolean;
  /**
   * Rows to copy and verify, as a condition over the table's columns; absent: all of them. Set by
   * the clone task only (own-job-rows.ts), never read from a caller.
   */
  rowFilter?: string;
}
