/**
 * A clone of the database that runs it would copy its own job mid-flight: the job's row in
 * public.background_tasks and its steps change with every checkpoint, so verification could never
 * agree, and the target would hold a "running" clone job that runs nowhere. Those rows are the
 * job's bookkeeping, not the data it clones: the copy and the verification both leave them out
 * (TableInfo.rowFilter). Every other row of those tables, other jobs included, is cloned.
 */
import { quoteLiteral } from "./sql-text.ts";
import type { TableInfo } from "./table-info.ts";

/** The engine's task tables and the column that names the task a row belongs to. */
const TASK_COLUMN: Record<string, string> = {
  "public.background_tasks": "id",
  "public.background_task_steps": "task_id",
};

/** `tables` with the rows of job `jobId` filtered out of the engine's task tables. */
export function withoutOwnJobRows(tables: TableInfo[], jobId: string): TableInfo[] {
  return tables.map((table) => {
    const column = TASK_COLUMN[`${table.schema}.${table.name}`];
    if (!column || !table.columns.includes(column)) return table;
    return { ...table, rowFilter: `"${column}" is distinct from ${quoteLiteral(jobId)}::uuid` };
  });
}
