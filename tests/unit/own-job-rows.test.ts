import { describe, expect, it } from "vitest";
import { withoutOwnJobRows } from "../../shared/clone/own-job-rows.ts";
import type { TableInfo } from "../../shared/clone/table-info.ts";

const table = (schema: string, name: string, columns: string[]): TableInfo => ({
  schema,
  name,
  columns,
  key: [{ column: columns[0], type: "uuid" }],
  estimatedRows: 1,
  partitioned: false,
});

describe("withoutOwnJobRows", () => {
  const jobId = "6f1c2d3e-0000-4000-8000-000000000001";

  it("filters the job's own row and steps out of the engine's task tables only", () => {
    const [tasks, steps, movies, elsewhere] = withoutOwnJobRows([
      table("public", "background_tasks", ["id", "status"]),
      table("public", "background_task_steps", ["task_id", "name"]),
      table("public", "movies", ["id", "title"]),
      table("studio", "background_tasks", ["id"]),
    ], jobId);
    expect(tasks.rowFilter).toBe(`"id" is distinct from E'${jobId}'::uuid`);
    expect(steps.rowFilter).toBe(`"task_id" is distinct from E'${jobId}'::uuid`);
    expect(movies.rowFilter).toBeUndefined();
    expect(elsewhere.rowFilter).toBeUndefined();
  });
});
