import { describe, expect, it } from "vitest";
import type { Sql } from "../../shared/db/client.ts";
import { cloneSessions } from "../../shared/clone/clone-sessions.ts";

/** A stand-in connection: answers every query, or fails it with `error`; records that it was ended. */
function fakeSql(name: string, ended: string[], error?: { code: string; message: string }): Sql {
  const sql = (async () => {
    if (error) throw Object.assign(new Error(error.message), { code: error.code });
    return [{ "?column?": 1 }];
  }) as unknown as Sql & { end: () => Promise<void> };
  sql.end = async () => void ended.push(name);
  return sql;
}

describe("clone sessions", () => {
  it("opens the extra sessions asked for, reuses them, and closes only the extra ones", async () => {
    const ended: string[] = [];
    let opened = 0;
    const sessions = cloneSessions({ source: fakeSql("s0", ended), target: fakeSql("t0", ended) }, {
      source: () => fakeSql(`s${++opened}`, ended),
      target: async () => fakeSql(`t${++opened}`, ended),
    });
    expect(await sessions.open(3, "target")).toBe(3);
    expect(await sessions.open(2, "both")).toBe(2);
    expect(opened).toBe(3); // targets 1 and 2, then source 1
    expect(await sessions.target(0)).toBe(await sessions.target(0));
    await sessions.close();
    expect(ended.sort()).toEqual(["s3", "t1", "t2"]);
  });

  it("settles for fewer sessions when the server has no connection slot left", async () => {
    const ended: string[] = [];
    const targets = [
      fakeSql("t1", ended),
      fakeSql("t2", ended, { code: "53300", message: "too many clients" }),
    ];
    const sessions = cloneSessions({ source: fakeSql("s0", ended), target: fakeSql("t0", ended) }, {
      source: () => fakeSql("s", ended),
      target: async () => targets.shift()!,
    });
    expect(await sessions.open(3, "target")).toBe(2);
    expect(ended).toEqual(["t2"]); // the refused one is closed at once
  });

  it("fails on any other error opening a session", async () => {
    const ended: string[] = [];
    const sessions = cloneSessions({ source: fakeSql("s0", ended), target: fakeSql("t0", ended) }, {
      source: () => fakeSql("s", ended),
      target: async () => fakeSql("t1", ended, { code: "28P01", message: "password authentication failed" }),
    });
    await expect(sessions.open(2, "target")).rejects.toThrow(/password authentication failed/);
  });
});
