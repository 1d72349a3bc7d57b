import { describe, expect, it } from "vitest";
import { describeCloneError } from "../../shared/clone/clone-errors.ts";
import {
  type CloneMetadata,
  describeClone,
  initialCheckpoint,
  nextChunkRows,
  nextPhase,
} from "../../shared/clone/clone-state.ts";

const options = { includeData: true, includeStorage: false, schemas: ["public"] };

describe("clone phases", () => {
  it("walks the phases in order, skipping data and storage when not asked for", () => {
    const checkpoint = initialCheckpoint();
    const seen: string[] = [];
    for (let phase = nextPhase(checkpoint, options); phase; phase = nextPhase(checkpoint, options)) {
      seen.push(phase);
      checkpoint.completedPhases.push(phase);
    }
    expect(seen).toEqual(["preflight", "types", "schema", "data", "post_data", "verify"]);
    expect(nextPhase(initialCheckpoint(), { ...options, includeData: false })).toBe("preflight");
    const noData = { ...initialCheckpoint(), completedPhases: ["preflight", "types", "schema"] as never };
    expect(nextPhase(noData, { ...options, includeData: false })).toBe("post_data");
  });
});

describe("chunk sizing", () => {
  it("scales the next chunk toward the target duration", () => {
    expect(nextChunkRows(10_000, 1_000, 2_000)).toBe(20_000);
    expect(nextChunkRows(10_000, 4_000, 2_000)).toBe(5_000);
  });

  it("grows at most fourfold and stays within bounds", () => {
    expect(nextChunkRows(10_000, 10, 5_000)).toBe(40_000);
    expect(nextChunkRows(2_000, 100_000, 10)).toBe(1_000);
    expect(nextChunkRows(400_000, 100, 5_000)).toBe(500_000);
  });
});

describe("clone status", () => {
  it("reports rows per table and overall, rows/s and an ETA, and the masked target", () => {
    const clone: CloneMetadata = {
      options,
      target: { v: 2, kid: "k", iv: "x", data: "y" },
      targetMasked: "postgresql://u:****@h/db",
      totals: { "public.a": 1000, "public.b": 3000 },
      checkpoint: {
        ...initialCheckpoint(),
        phase: "data",
        completedPhases: ["preflight", "types", "schema"],
        completedTables: ["public.a"],
        currentTable: "public.b",
        rowsPerTable: { "public.a": 1000, "public.b": 1000 },
        copyMs: 2000,
      },
    };
    const status = describeClone(clone);
    expect(status.rows).toEqual({ copied: 2000, total: 4000 });
    expect(status.rowsPerSecond).toBe(1000);
    expect(status.etaSeconds).toBe(2);
    expect(status.tables).toEqual([
      { table: "public.a", rowsCopied: 1000, rowsTotal: 1000, done: true },
      { table: "public.b", rowsCopied: 1000, rowsTotal: 3000, done: false },
    ]);
    expect(JSON.stringify(status)).not.toContain('"iv"');
  });

  it("shows only the job's own tables, whatever else the checkpoint holds", () => {
    const clone: CloneMetadata = {
      options: { ...options, schemas: ["public"] },
      target: { v: 2, kid: "k", iv: "x", data: "y" },
      targetMasked: "postgresql://u:****@h/db",
      totals: { "public.a": 10, "auth.users": 5000 },
      checkpoint: {
        ...initialCheckpoint(),
        completedTables: ["public.a", "auth.users"],
        currentTable: "auth.users",
        rowsPerTable: { "public.a": 10, "auth.users": 5000 },
      },
      mismatches: [{ table: "auth.users", source: { rows: 5000 }, target: null }, {
        table: "public.a",
        source: { rows: 10 },
        target: { rows: 9 },
      }],
    };
    const status = describeClone(clone);
    expect(status.tables.map((t) => t.table)).toEqual(["public.a"]);
    expect(status.rows).toEqual({ copied: 10, total: 10 });
    expect(status.completedTables).toEqual(["public.a"]);
    expect(status.currentTable).toBeNull();
    expect(status.mismatches).toEqual([{ table: "public.a", source: { rows: 10 }, target: { rows: 9 } }]);
    expect(JSON.stringify(status)).not.toContain("auth.users");
  });
});

describe("clone errors shown to operators", () => {
  it("keeps the clone's own messages and replaces anything else with a code and a pointer to the log", () => {
    expect(
      describeCloneError(
        { code: "target_not_empty", message: "the target already has: table:public.a" },
        "job-1",
      ),
    )
      .toEqual({ code: "target_not_empty", message: "the target already has: table:public.a" });
    expect(
      describeCloneError(
        { code: "target_unreachable", message: "connect ECONNREFUSED 10.1.2.3:5432" },
        "job-1",
      ),
    )
      .toEqual({ code: "target_unreachable", message: expect.not.stringContaining("ECONNREFUSED") });
    const raw = describeCloneError({
      code: "task_error",
      message: 'relation "auth.sessions" does not exist at character 15',
    }, "job-1");
    expect(raw).toEqual({ code: "clone_error", message: expect.stringContaining("job job-1") });
    expect(JSON.stringify(raw)).not.toContain("auth.sessions");
    expect(describeCloneError(null, "job-1")).toBeNull();
  });
});
