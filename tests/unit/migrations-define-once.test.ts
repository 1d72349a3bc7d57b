import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const migrationsDir = join(import.meta.dirname!, "..", "..", "migrations");

/** `schema.name` of every `create [or replace] function|procedure` in one migration's text. */
function routinesCreated(sql: string): string[] {
  const withoutComments = sql.replace(/--[^\n]*/g, "");
  return [
    ...withoutComments.matchAll(
      /create\s+(?:or\s+replace\s+)?(?:function|procedure)\s+([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\s*\(/gi,
    ),
  ]
    .map((m) => m[1].toLowerCase());
}

describe("migrations", () => {
  it("find the routines a migration creates, comments aside", () => {
    const sql =
      "-- create function public.old(\ncreate or replace function engine.claim(p int)\nCREATE PROCEDURE x.y ()";
    expect(routinesCreated(sql)).toEqual(["engine.claim", "x.y"]);
  });

  it("define each SQL function in one file only, so a reader finds its current body in one place", () => {
    const files = readdirSync(migrationsDir).filter((name) => name.endsWith(".sql")).sort();
    const definedIn = new Map<string, Set<string>>();
    for (const file of files) {
      for (const routine of routinesCreated(readFileSync(join(migrationsDir, file), "utf8"))) {
        definedIn.set(routine, (definedIn.get(routine) ?? new Set()).add(file));
      }
    }
    const redefined = [...definedIn].filter(([, where]) => where.size > 1).map(([routine, where]) =>
      `${routine}: ${[...where].join(", ")}`
    );
    // The baseline has not shipped: a change to a function edits the file that creates it. Once a
    // hosted project runs it, forward migrations redefine functions and this rule gets its exceptions.
    expect(redefined, "functions created in more than one migration file").toEqual([]);
    expect(definedIn.size).toBeGreaterThan(50);
  });
});
