import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqlErrorCode } from "../../shared/db/sql-errors.ts";

const migrationsDir = join(import.meta.dirname!, "..", "..", "migrations");
const raised = readdirSync(migrationsDir)
  .filter((name) => name.endsWith(".sql"))
  .flatMap((name) =>
    [...readFileSync(join(migrationsDir, name), "utf8").matchAll(/errcode = '(RF[0-9A-Z]{3})'/g)].map((m) =>
      m[1]
    )
  );

describe("the SQL error code registry", () => {
  it("names every project code the migrations raise, and only those", () => {
    expect(new Set(raised)).toEqual(new Set(Object.values(SqlErrorCode)));
  });

  it("gives each code one name", () => {
    const codes = Object.values(SqlErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
