import { describe, expect, it } from "vitest";
import type { Sql } from "../../shared/db/client.ts";
import { cloneSessions } from "../../shared/clone/clone-sessions.ts";
import { cloneWirePool } from "../../shared/clone/clone-connections.ts";
import type { WireConnection } from "../../shared/clone/pg-wire.ts";

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

describe("the copy's target connections", () => {
  /** A pool over a server that has `slots` connections free, then answers 53300 (or `error`). */
  const poolOf = (slots: number, error = { code: "53300", message: "too many connections for role" }) => {
    let opened = 0;
    const closed: number[] = [];
    const pool = cloneWirePool(async () => {
      if (opened >= slots) throw Object.assign(new Error(error.message), { code: error.code });
      const n = ++opened;
      return { broken: false, close: () => void closed.push(n) } as unknown as WireConnection;
    });
    return { pool, closed, opened: () => opened };
  };

  it("opens as many as asked when the server has room, and the copies reuse them", async () => {
    const { pool, opened } = poolOf(10);
    expect(await pool.reserve(3)).toBe(3);
    await Promise.all([1, 2, 3].map(() => pool.use(async () => {})));
    expect(opened()).toBe(3);
  });

  it("settles for fewer when the server refuses more for lack of slots", async () => {
    // Before: the second lane's copy failed with 53300, every attempt, and the job with it.
    const { pool, opened } = poolOf(1);
    expect(await pool.reserve(4)).toBe(1);
    await pool.use(async () => {});
    expect(opened()).toBe(1);
  });

  it("throws when not even one connection opens, or on any other error", async () => {
    await expect(poolOf(0).pool.reserve(2)).rejects.toMatchObject({ code: "53300" });
    await expect(poolOf(1, { code: "28P01", message: "password authentication failed" }).pool.reserve(2))
      .rejects.toMatchObject({ code: "28P01" });
  });
});
