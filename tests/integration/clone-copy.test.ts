import { randomBytes, randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneWirePool, openCloneWire } from "../../shared/clone/clone-connections.ts";
import {
  type ChunkSource,
  type ChunkTarget,
  CLONE_SESSION_SETTINGS,
  copyChunk,
} from "../../shared/clone/copy-chunk.ts";
import { relayCopy } from "../../shared/clone/copy-stream.ts";
import { type CopyFormat, copyFormat } from "../../shared/clone/copy-format.ts";
import { readClonePlan } from "../../shared/clone/schema-plan.ts";
import type { WireConnection } from "../../shared/clone/pg-wire.ts";
import type { TableInfo } from "../../shared/clone/table-info.ts";
import { ensureLedger, forgetJob } from "../../shared/clone/target-ledger.ts";
import { rowHashFor, tableFingerprint, verifyClone } from "../../shared/clone/verify.ts";
import { dropDatabaseInBackground } from "../support/clone-db.ts";
import { stackEnv } from "../support/stack.ts";

type Sql = postgres.Sql;

// CLONE_TEST_DB_URL points these tests at any Postgres ≥ 15 we may create databases on.
const serverUrl = process.env.CLONE_TEST_DB_URL ?? stackEnv().DB_URL;
const suffix = randomBytes(4).toString("hex");
const sourceDb = `clone_src_${suffix}`;
const targetDb = `clone_dst_${suffix}`;

function urlOf(database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function openClone(database: string, applicationName = "clone-copy-test"): Sql {
  return postgres(urlOf(database), {
    max: 1,
    prepare: false,
    onnotice: () => {},
    connection: { ...CLONE_SESSION_SETTINGS, application_name: applicationName },
  });
}

// `ident` is GENERATED ALWAYS AS IDENTITY (its values must survive); `g` is generated, so not copied.
const mixed = table(
  "mixed",
  ["id", "ident", "n", "u", "t", "j", "b", "num", "ts", "arr", "tarr", "f", "iv"],
  [["id", "bigint"]],
);
const pairs = table("pairs", ["tenant", "seq", "payload"], [["tenant", "text"], ["seq", "integer"]]);
const wide = table("wide", ["id", "payload"], [["id", "integer"]]);
const keyless = table("keyless", ["a", "b"], null);
const big = table("big", ["id", "payload"], [["id", "bigint"]]);
// Built-in types, a domain over one and a scalar enum: COPY binary carries them as they are.
const typedColumns = [
  "id",
  "num",
  "ts",
  "tsp",
  "d",
  "tm",
  "iv",
  "j",
  "js",
  "b",
  "ia",
  "ta",
  "na",
  "u",
  "ip",
  "net",
  "mac",
  "t",
  "ch",
  "bo",
  "f4",
  "f8",
  "i8",
  "cash",
  "bits",
  "tsv",
  "pt",
  "r",
  "mr",
  "dom",
  "m",
  "tsa",
];
const typed = table("typed", typedColumns, [["id", "integer"]]);
// A composite column and an array of enums embed their types' OIDs in COPY binary; regclass sends an OID.
const userTyped = table("user_typed", ["id", "p", "moods", "rel"], [["id", "integer"]]);

function table(name: string, columns: string[], key: [string, string][] | null): TableInfo {
  return {
    schema: "public",
    name,
    columns,
    key: key && key.map(([column, type]) => ({ column, type })),
    estimatedRows: 0,
    partitioned: false,
  };
}

const ddl = `
  create table mixed (
    id bigint primary key, ident int generated always as identity, n int, u uuid, t text, j jsonb,
    b bytea, num numeric, ts timestamptz, arr int[], tarr text[], f float8, iv interval,
    g text generated always as (n::text || '!') stored);
  create table pairs (tenant text, seq integer, payload text, primary key (tenant, seq));
  create table wide (id integer primary key, payload text);
  create table keyless (a int, b text);
  create table big (id bigint primary key, payload text);
  alter table big alter column payload set storage external;
  create sequence counter;
  create type mood as enum ('calm', 'tense', 'ünïcode 🎬');
  create domain positive as int check (value > 0);
  create table typed (
    id int primary key, num numeric, ts timestamptz, tsp timestamp, d date, tm time, iv interval,
    j jsonb, js json, b bytea, ia int[], ta text[], na numeric(12, 4)[], u uuid, ip inet, net cidr,
    mac macaddr, t text, ch char(3), bo bool, f4 real, f8 float8, i8 bigint, cash money,
    bits varbit(12), tsv tsvector, pt point, r int4range, mr int4multirange, dom positive, m mood,
    tsa timestamptz[]);
  create type pair as (a int, b text);
  create table user_typed (id int primary key, p pair, moods mood[], rel regclass);`;

async function copyAll(
  source: ChunkSource,
  target: ChunkTarget,
  info: TableInfo,
  maxRows: number,
  job = randomUUID(),
  format: CopyFormat = "text",
) {
  let after: string[] | null = null;
  let chunks = 0;
  let rows = 0;
  for (;;) {
    const chunk = await copyChunk(source, target, info, job, after, maxRows, format);
    chunks++;
    rows += chunk.rows;
    after = chunk.lastKey;
    if (chunk.done) return { chunks, rows, lastKey: after };
  }
}

async function sleepUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("clone data copy", () => {
  let admin: Sql;
  let source: Sql;
  /** The source as the data copy reads it (pg-wire.ts); `source` sets up and checks. */
  let wire: WireConnection;
  let target: Sql;
  /** The target as the data copy writes it; `target` sets up and checks. */
  let into: WireConnection;

  beforeAll(async () => {
    admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${sourceDb}`);
    await admin.unsafe(`create database ${targetDb}`);
    source = openClone(sourceDb);
    wire = await openCloneWire(urlOf(sourceDb), "clone-copy-test-wire");
    into = await openCloneWire(urlOf(targetDb), "clone-copy-test-into");
    target = openClone(targetDb);
    await source.unsafe(ddl);
    // The target keeps the keys here (a clone builds them after the data) so that a test can
    // park a COPY on an uncommitted duplicate key.
    await target.unsafe(ddl);
    await ensureLedger(target);
    await source.unsafe(`
      insert into mixed (id, n, u, t, j, b, num, ts, arr, tarr, f, iv)
      select 25001 - i, (i * 7) % 1000 - 500, md5(i::text)::uuid,
             case when i % 10 = 0 then null
                  else 'ñandú — 日本語 🎬 ' || repeat(chr(65 + i % 26), i % 50) || E'\\t tab \\\\ back ''q" \\n nl' end,
             case when i % 7 = 0 then null
                  else jsonb_build_object('i', i, 'ü', array[i, i + 1], 'nested', jsonb_build_object('x', 'é', 'n', null)) end,
             case when i % 5 = 0 then null else decode(md5(i::text), 'hex') || '\\x00ff5c'::bytea end,
             case when i % 11 = 0 then 'NaN'::numeric else (i::numeric / 7)::numeric(40, 20) end,
             timestamptz '2020-01-01 00:00:00+00' + i * interval '17 minutes 3.123456 seconds',
             case when i % 3 = 0 then null else array[i, null, -i] end,
             array['a,b', 'c"d', null, '{}', 'NULL'],
             i / 3.0::float8 + 1e-10,
             (i || ' days 3 hours 0.5 seconds')::interval
        from generate_series(1, 25000) i;
      insert into pairs
      select tenant, s, repeat(tenant, s % 5)
        from unnest(array['acme', 'ñu', 'it''s', 'back\\slash', 'Zeta', 'zeta']) tenant, generate_series(1, 700) s;
      insert into wide select i, repeat(md5(i::text), 32) from generate_series(1, 20000) i;
      insert into keyless select i % 100, case when i % 9 = 0 then null else 'row ' || (i % 250) end
        from generate_series(1, 3000) i;
      insert into big select i, repeat(md5(i::text), 64) from generate_series(1, 100000) i;
      insert into typed
      select i,
             case i % 5 when 0 then 'NaN' when 1 then 'Infinity' when 2 then '-Infinity'
                        else (i::numeric ^ 7 / 3)::numeric(60, 30) * (case when i % 2 = 0 then -1 else 1 end) end,
             case when i % 13 = 0 then 'infinity'::timestamptz else timestamptz '1900-02-28 23:59:59.999999+05:30' + i * interval '9 days 7 hours 3.000001 seconds' end,
             timestamp '0044-03-15 12:00:00 BC' + i * interval '1000 days',
             case when i % 17 = 0 then '-infinity'::date else date '1999-12-31' + i end,
             time '00:00:00.000001' + i * interval '1 second',
             make_interval(years => i % 3, months => -i % 11, days => i, secs => i / 7.0),
             jsonb_build_object('n', i, 'big', 1e40 + i, 'esc', E'q"\\\\ \\t\\n', 'a', jsonb_build_array(null, true, 1.5)),
             ('{"order": "kept", "dup": 1, "dup": ' || i || '}')::json,
             case when i % 4 = 0 then ''::bytea else decode(md5(i::text), 'hex') || '\\x000a0d5c'::bytea end,
             array[i, null, -i], array['', 'NULL', E'tab\\there', 'a,b{c}', null],
             array[i / 3.0, null]::numeric(12, 4)[],
             md5(i::text)::uuid, ('10.' || i % 256 || '.0.1/' || (8 + i % 25))::inet, '2001:db8::/32',
             ('08:00:2b:01:02:' || lpad(to_hex(i % 256), 2, '0'))::macaddr,
             E'ñandú — 日本語 🎬 \\\\N \\\\. \\t\\r\\n ''"' || i,
             'ab', i % 2 = 0, i / 7.0::real, case when i % 9 = 0 then 'NaN'::float8 else i * 1e-300 end,
             -9223372036854775807 + i, (i * 1.25)::money,
             (i % 4096)::bit(12)::varbit, to_tsvector('simple', 'la película número ' || i),
             point(i, -i / 3.0), int4range(i, i + 10), int4multirange(int4range(1, i + 2), int4range(i + 5, null)),
             1 + i % 1000, (enum_range(null::mood))[1 + i % 3],
             array[timestamptz 'epoch' + i * interval '1 hour', null]
        from generate_series(1, 3000) i;
      insert into typed (id) values (0);
      insert into user_typed
      select i, row(i, 'p' || i)::pair, array['calm', 'ünïcode 🎬']::mood[], 'typed'::regclass
        from generate_series(1, 500) i;`);
  });

  /** Inserts a row on the target in a transaction left open: a COPY reaching its key waits there. */
  async function holdUncommittedRow(insert: string): Promise<() => Promise<void>> {
    const sql = postgres(urlOf(targetDb), { max: 1, onnotice: () => {} });
    const holder = await sql.reserve();
    await holder`begin`;
    await holder.unsafe(insert);
    return async () => {
      await holder`rollback`;
      holder.release();
      await sql.end();
    };
  }

  async function sessions(applicationName: string, condition = "true"): Promise<number> {
    const [row] = await admin.unsafe(
      `select count(*)::int as n from pg_stat_activity where application_name = $1 and ${condition}`,
      [applicationName],
    );
    return row.n;
  }

  afterAll(async () => {
    wire?.close();
    into?.close();
    await Promise.all([source?.end(), target?.end()]);
    if (admin) {
      await admin.end();
      dropDatabaseInBackground(sourceDb, serverUrl);
      dropDatabaseInBackground(targetDb, serverUrl);
    }
  });

  it("copying a mixed-type table chunk by chunk reproduces it exactly", async () => {
    const copied = await copyAll(wire, into, mixed, 4_000);

    expect(copied).toEqual({ chunks: 7, rows: 25_000, lastKey: ["25000"] });
    const [ours, theirs] = await Promise.all([
      tableFingerprint(source, mixed),
      tableFingerprint(target, mixed),
    ]);
    expect(ours.rows).toBe(25_000);
    expect(theirs).toEqual(ours);
    // Spot check beyond the hash: the awkward values read back identically.
    const probe =
      `select ident, g, t, j, b, num::text, ts, arr, tarr, f, iv::text from mixed where id in (1, 7, 10, 11, 24999) order by id`;
    expect(await target.unsafe(probe)).toEqual(await source.unsafe(probe));
  });

  it("the plan copies a table of built-in types in binary and one with user types as text", async () => {
    const plan = await readClonePlan(source, ["public"], new Set());
    const planned = (name: string) => plan.tables.find((t) => t.name === name)!;
    expect(planned("typed").binaryPortable).toBe(true);
    expect(planned("mixed").binaryPortable).toBe(true);
    expect(planned("user_typed").binaryPortable).toBe(false);
    expect(copyFormat(planned("typed"), true)).toBe("binary");
    expect(copyFormat(planned("user_typed"), true)).toBe("text");
    expect(copyFormat(planned("typed"), false)).toBe("text");
  });

  it("COPY binary of built-in types, a domain and an enum reproduces them exactly, in chunks and whole", async () => {
    const job = randomUUID();
    let after: string[] | null = null;
    let rows = 0;
    for (;;) {
      const chunk = await copyChunk(wire, into, typed, job, after, 700, "binary");
      rows += chunk.rows;
      after = chunk.lastKey;
      if (chunk.done) break;
    }

    expect(rows).toBe(3_001);
    const [ours, theirs] = await Promise.all([
      tableFingerprint(source, typed),
      tableFingerprint(target, typed),
    ]);
    expect(theirs).toEqual(ours);
    const probe = `select ${
      typedColumns.map((c) => `${c}::text`).join(", ")
    } from typed where id in (0, 1, 2, 5, 13, 2999) order by id`;
    expect(await target.unsafe(probe)).toEqual(await source.unsafe(probe));

    await target`truncate typed`;
    const keylessTyped = { ...typed, key: null };
    expect((await copyAll(wire, into, keylessTyped, 1_000, randomUUID(), "binary")).rows).toBe(3_001);
    expect(await tableFingerprint(target, typed)).toEqual(ours);
  });

  it("a composite, an enum array and a regclass column copy as text; binary would not carry them", async () => {
    // Binary sends a regclass as the source's OID, which names nothing (or another table) on the target.
    await copyAll(wire, into, userTyped, 10_000, randomUUID(), "binary");
    const rel = `select distinct rel::text from user_typed`;
    expect(await source.unsafe(rel)).toEqual([{ rel: "typed" }]);
    expect(await target.unsafe(rel)).not.toEqual([{ rel: "typed" }]);

    expect((await copyAll(wire, into, userTyped, 10_000, randomUUID(), "text")).rows).toBe(500);
    expect(await tableFingerprint(target, userTyped)).toEqual(await tableFingerprint(source, userTyped));
  });

  it("a table with a composite text-and-integer key copies chunk by chunk exactly", async () => {
    const copied = await copyAll(wire, into, pairs, 333);

    expect(copied.rows).toBe(4_200);
    expect(copied.chunks).toBe(13);
    const [ours, theirs] = await Promise.all([
      tableFingerprint(source, pairs),
      tableFingerprint(target, pairs),
    ]);
    expect(theirs).toEqual(ours);
  });

  async function chunkRecords(job: string) {
    return (await target`select after_key, rows from _reelforge_clone.chunks where job_id = ${job} order by after_key`)
      .map((r) => ({ after: r.after_key, rows: Number(r.rows) }));
  }

  it("re-running a chunk whose target commit was never checkpointed finds its record and copies nothing again", async () => {
    const job = randomUUID();
    await target`truncate wide`;
    const first = await copyChunk(wire, into, wide, job, null, 5_000);
    // The kill landed after the target committed: the caller still holds `after = null`, and a
    // resumed job may plan the chunk smaller (it halves chunks after lost leases).
    const again = await copyChunk(wire, into, wide, job, null, 2_500);

    expect(first).toEqual({ rows: 5_000, lastKey: ["5000"], done: false, replayed: false });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await target`select count(*)::int as n from wide`).toEqual([{ n: 5_000 }]);
    expect(await chunkRecords(job)).toEqual([{ after: "null", rows: 5_000 }]);
  });

  it("a table's first chunk goes in frozen, its pages marked all-visible; later chunks as plain COPYs", async () => {
    await target`truncate wide`;
    // An index-only scan reads the heap only for rows on pages not marked all-visible.
    const heapFetches = async () =>
      await target.begin(async (tx) => {
        await tx`set local enable_seqscan = off`;
        await tx`set local enable_bitmapscan = off`;
        const plan = await tx.unsafe(`explain (analyze, costs off) select count(id) from wide`);
        const text = plan.map((row) => Object.values(row)[0]).join("\n");
        expect(text).toContain("Index Only Scan");
        return Number(text.match(/Heap Fetches: (\d+)/)?.[1]);
      });
    const job = randomUUID();
    const first = await copyChunk(wire, into, wide, job, null, 5_000);
    const afterFirst = await heapFetches();
    await copyChunk(wire, into, wide, job, first.lastKey, 5_000);
    const afterSecond = await heapFetches();

    expect(afterFirst).toBe(0);
    // The second chunk's rows, and the first's that share its first page (it filled that page up).
    expect(afterSecond).toBeGreaterThanOrEqual(5_000);
    expect(afterSecond).toBeLessThan(5_050);
    expect(await target`select count(*)::int as n from wide`).toEqual([{ n: 10_000 }]);
  });

  it("two workers racing on one chunk copy it once: the second waits on the first's record and rolls back", async () => {
    const job = randomUUID();
    await target`truncate wide`;
    const other = await openCloneWire(urlOf(targetDb), "clone-copy-racer");
    const otherSource = await openCloneWire(urlOf(sourceDb), "clone-copy-racer");
    try {
      const results = await Promise.allSettled([
        copyChunk(wire, into, wide, job, ["1000"], 8_000),
        copyChunk(otherSource, other, wide, job, ["1000"], 8_000),
      ]);

      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({
        code: "23505",
      });
      expect(await target`select count(*)::int as n, min(id) as lo, max(id) as hi from wide`).toEqual([{
        n: 8_000,
        lo: 1001,
        hi: 9000,
      }]);
    } finally {
      otherSource.close();
      other.close();
    }
  });

  it("a target connection lost mid-COPY leaves the range as it was, and a retry completes it", async () => {
    const job = randomUUID();
    await target`truncate wide`;
    await copyChunk(wire, into, wide, job, null, 5_000);
    await source`update wide set payload = 'changed since' where id between 6000 and 7000`;
    const before = await tableFingerprint(target, wide);

    // An uncommitted row with key 12000 makes the chunk's COPY wait right in the middle of the range.
    const releaseRow = await holdUncommittedRow(`insert into wide values (12000, 'blocker')`);
    const doomed = await openCloneWire(urlOf(targetDb), "clone-copy-doomed");
    const copying = copyChunk(wire, doomed, wide, job, ["5000"], 10_000);
    copying.catch(() => {});
    await sleepUntil(
      async () => (await sessions("clone-copy-doomed", "wait_event_type = 'Lock'")) === 1,
      "the COPY to wait on the row",
    );
    doomed.close();
    await expect(copying).rejects.toThrow();
    await releaseRow();
    await sleepUntil(async () => (await sessions("clone-copy-doomed")) === 0, "the killed session to end");

    expect(await tableFingerprint(target, wide)).toEqual(before);
    expect(await chunkRecords(job)).toEqual([{ after: "null", rows: 5_000 }]);
    // The source connection was drained and is usable again.
    expect(await wire.query("select 1 as ok")).toEqual([["1"]]);

    const retried = await copyChunk(wire, into, wide, job, ["5000"], 10_000);
    expect(retried).toEqual({ rows: 10_000, lastKey: ["15000"], done: false, replayed: false });
    const rest = await copyChunk(wire, into, wide, job, retried.lastKey, 10_000);
    expect(rest).toEqual({ rows: 5_000, lastKey: ["20000"], done: true, replayed: false });
    expect(await tableFingerprint(target, wide)).toEqual(await tableFingerprint(source, wide));
  });

  it("a source connection lost mid-COPY fails the chunk and leaves the target range empty", async () => {
    // The target waits on an uncommitted row, so the source (200 MB to send) stalls mid-stream.
    const releaseRow = await holdUncommittedRow(`insert into big values (100, 'blocker')`);
    const doomedSource = await openCloneWire(urlOf(sourceDb), "clone-copy-doomed-source");
    // Not the first chunk, which would first wait to empty the table, behind the held row.
    const copying = copyChunk(doomedSource, into, big, randomUUID(), ["0"], 1_000_000);
    copying.catch(() => {});
    await sleepUntil(
      async () => (await sessions("clone-copy-doomed-source", "wait_event = 'ClientWrite'")) === 1,
      "the source to stall",
    );
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'clone-copy-doomed-source'`;
    await releaseRow();

    // The connection's own error, not one from cleaning up after it.
    const error = (await copying.catch((e) => e)) as { code?: string };
    expect(["CONNECTION_CLOSED", "57P01"]).toContain(error.code);
    expect(doomedSource.broken).toBe(true);
    doomedSource.close();
    expect(await target`select count(*)::int as n from big`).toEqual([{ n: 0 }]);
  });

  it("a chunk the target rejects fails with the server's error and leaves both connections usable", async () => {
    await source.unsafe(
      `create table checked (id int primary key, v int); insert into checked select i, i from generate_series(1, 3000) i`,
    );
    // Only the last row breaks the target's rule: the error arrives after all data and CopyDone were sent.
    await target.unsafe(
      `create table checked (id int primary key, v int constraint v_small check (v < 3000))`,
    );
    const checked = table("checked", ["id", "v"], [["id", "integer"]]);

    const job = randomUUID();
    await expect(copyChunk(wire, into, checked, job, null, 10_000)).rejects.toMatchObject({
      code: "23514",
    });

    expect(await target`select count(*)::int as n from checked`).toEqual([{ n: 0 }]);
    expect(await chunkRecords(job)).toEqual([]);
    expect(await wire.query("select 1 as ok")).toEqual([["1"]]);
  });

  it("notices the target sends mid-COPY do not stop the relay", async () => {
    // A trigger that raises a notice for every row: ~10 MB the server sends while the data flows,
    // more than the sockets hold, so a relay that reads none of it until the end would stall.
    await target.unsafe(`
      create table noisy (id bigint, payload text);
      create function noisy_notice() returns trigger language plpgsql as $$
        begin raise notice 'row % of a COPY that keeps the server talking', new.id; return new; end $$;
      create trigger noisy_notice before insert on noisy for each row execute function noisy_notice();`);

    const rows = await relayCopy(wire, "copy big (id, payload) to stdout", into, "copy noisy from stdin");

    expect(rows).toBe(100_000);
    expect(await target`select count(*)::int as n from noisy`).toEqual([{ n: 100_000 }]);
    expect(await into.query("select 'usable'")).toEqual([["usable"]]);
  });

  it("a source error mid-stream fails the relay with it; both connections copy the next chunk", async () => {
    await target.unsafe(`create table relay_probe (i int, q int)`);
    const failing = `copy (select i, 1 / (i - 60000) from generate_series(1, 100000) i) to stdout`;
    const error = await relayCopy(wire, failing, into, "copy relay_probe from stdin").catch((e) => e);

    expect(error).toMatchObject({ code: "22012" });
    expect(await target`select count(*)::int as n from relay_probe`).toEqual([{ n: 0 }]);
    const rows = await relayCopy(
      wire,
      "copy (select i, i from generate_series(1, 1000) i) to stdout",
      into,
      "copy relay_probe from stdin",
    );
    expect(rows).toBe(1_000);
  });

  it("a target error mid-stream cancels the source's COPY; the source connection is usable at once and stays so", async () => {
    // The 100th row breaks the rule while the source has ~200 MB more to send.
    await target.unsafe(`create table big_strict (id bigint, payload text, check (id < 100))`);
    const error = await relayCopy(
      wire,
      "copy big (id, payload) to stdout",
      into,
      "copy big_strict from stdin",
    )
      .catch((e) => e);

    expect(error).toMatchObject({ code: "23514" });
    expect(await sessions("clone-copy-test-wire", "query like 'copy big%' and state = 'active'")).toBe(0);
    // No cancel signal is left to land on the next command.
    expect(await wire.query("select pg_sleep(0.3), 'still here'")).toEqual([["", "still here"]]);
    await target`truncate pairs`;
    const copied = await copyAll(wire, into, pairs, 2_000);
    expect(copied.rows).toBe(4_200);
  });

  it("the source pool reuses a connection between chunks and replaces one the server dropped", async () => {
    const pool = cloneWirePool(() => openCloneWire(urlOf(sourceDb), "clone-copy-pool"));
    try {
      const pid = () => pool.use(async (c) => (await c.query("select pg_backend_pid()"))[0][0]);
      const first = await pid();
      expect(await pid()).toBe(first);
      await admin`select pg_terminate_backend(${Number(first)})`;
      await expect(pid()).rejects.toMatchObject({ code: "57P01" });

      const replaced = await pid();
      expect(replaced).not.toBe(first);
      await target`truncate wide`;
      const chunk = await pool.use((c) => copyChunk(c, into, wide, randomUUID(), null, 3_000));
      expect(chunk).toMatchObject({ rows: 3_000, replayed: false });
      expect(await sessions("clone-copy-pool")).toBe(1);
    } finally {
      pool.close();
    }
  });

  it("a keyless table copies in ranges of pages, and a chunk run again copies nothing", async () => {
    const job = randomUUID();
    // Before: one transaction for the whole table, started over after every interruption, so a
    // table too big for one slice never finished.
    const copied = await copyAll(wire, into, keyless, 500, job);
    expect(copied.rows).toBe(3_000);
    expect(copied.chunks).toBeGreaterThan(3);
    const again = await copyChunk(wire, into, keyless, job, null, 500);
    expect(again.replayed).toBe(true);
    const [ours, theirs] = await Promise.all([
      tableFingerprint(source, keyless),
      tableFingerprint(target, keyless),
    ]);
    expect(theirs).toEqual(ours);
  });

  it("a keyless table's copy resumes from its cursor after a kill, and takes rows appended meanwhile", async () => {
    const job = randomUUID();
    const first = await copyChunk(wire, into, keyless, job, null, 500);
    expect(first.done).toBe(false);
    // The worker dies here; rows are appended before the next slice goes on from the cursor.
    await source`insert into keyless values (-1, 'appended during the copy')`;
    let after = first.lastKey;
    let rows = first.rows;
    for (let done = false; !done;) {
      const chunk = await copyChunk(wire, into, keyless, job, after, 500);
      rows += chunk.rows;
      after = chunk.lastKey;
      done = chunk.done;
    }
    await source`delete from keyless where a = -1`;
    expect(rows).toBe(3_001);
    expect((await target`select count(*)::int as n from keyless where a = -1`)[0].n).toBe(1);
  });

  it.each(["record", "text"] as const)(
    "%s fingerprints ignore physical row order but tell a single changed value apart",
    async (rowHash) => {
      const name = `ordered_${rowHash}`;
      await source.unsafe(
        `create table ${name} (id int primary key, v text); insert into ${name} select i, 'v' || i from generate_series(1, 1000) i`,
      );
      await target.unsafe(
        `create table ${name} (id int primary key, v text); insert into ${name} select i, 'v' || i from generate_series(1000, 1, -1) i`,
      );
      const firstStored = async (sql: Sql) => (await sql.unsafe(`select id from only ${name} limit 1`))[0].id;
      expect([await firstStored(source), await firstStored(target)]).toEqual([1, 1000]);
      const fingerprint = (sql: Sql) => tableFingerprint(sql, { schema: "public", name }, rowHash);

      expect(await fingerprint(target)).toEqual(await fingerprint(source));

      await target.unsafe(`update ${name} set v = 'v500 ' where id = 500`);
      const changed = await fingerprint(target);
      const original = await fingerprint(source);
      expect(changed.rows).toBe(original.rows);
      expect(changed.hash).not.toBe(original.hash);
    },
  );

  it("verifyClone hashes by text a table whose types have no portable hash (json has none; an enum's is its OID)", async () => {
    const ddl =
      `create type tone as enum ('calm', 'grim'); create table docs (id int primary key, body json, t tone)`;
    await source.unsafe(
      ddl + `; insert into docs select i, json_build_object('i', i), 'grim' from generate_series(1, 500) i`,
    );
    await target.unsafe(ddl);
    const docs = table("docs", ["id", "body", "t"], [["id", "integer"]]);
    await copyAll(wire, into, docs, 200);
    const enumOnly = { schema: "public", name: "docs", columns: ["id", "t"] };
    expect(await rowHashFor(source, docs)).toBe("text");
    expect(await rowHashFor(source, enumOnly)).toBe("text");
    expect(await rowHashFor(source, { ...enumOnly, columns: ["id"] })).toBe("record");
    // What goes wrong otherwise: the same rows, different hashes.
    expect((await tableFingerprint(source, enumOnly, "record")).hash).not.toBe(
      (await tableFingerprint(target, enumOnly, "record")).hash,
    );

    expect(await verifyClone(source, target, [docs], [])).toEqual([]);
    await target.unsafe(`update docs set body = '{"i": 7}' where id = 7`);
    expect((await verifyClone(source, target, [docs], [])).map((m) => m.table)).toEqual(['"public"."docs"']);
  });

  it("verifyClone reports a sequence that differs and nothing for tables that match", async () => {
    await target`truncate pairs`;
    await copyAll(wire, into, pairs, 1_000);
    await source`select nextval('counter') from generate_series(1, 3)`;
    await target`select nextval('counter') from generate_series(1, 2)`;
    const sequences = [{ schema: "public", name: "counter" }];

    expect(await verifyClone(source, target, [pairs], sequences)).toEqual([
      {
        sequence: '"public"."counter"',
        source: { lastValue: "3", isCalled: true },
        target: { lastValue: "2", isCalled: true },
      },
    ]);

    await target`select setval('counter', 3, true)`;
    expect(await verifyClone(source, target, [pairs], sequences)).toEqual([]);
  });

  it("verifyClone reports a table that differs or is missing on the target", async () => {
    await copyAll(wire, into, keyless, 10_000);
    await target`delete from keyless where ctid = (select min(ctid) from keyless)`;
    const missing = table("only_on_source", ["x"], null);
    await source`create table only_on_source (x int)`;

    const mismatches = await verifyClone(source, target, [keyless, missing], []);
    expect(mismatches.map((m) => m.table)).toEqual(['"public"."keyless"', '"public"."only_on_source"']);
    expect(mismatches[0].target).toMatchObject({ rows: 2_999 });
    expect(mismatches[1].target).toMatchObject({ error: expect.stringContaining("does not exist") });
  });

  it("forgetting a finished job's ledger again, after a kill that came after its drop, does nothing", async () => {
    const scratch = `clone_ledger_${suffix}`;
    await admin.unsafe(`create database ${scratch}`);
    const db = openClone(scratch);
    try {
      const job = randomUUID();
      await ensureLedger(db);
      await db`insert into _reelforge_clone.applied (job_id, key) values (${job}, 'schema:1')`;
      await forgetJob(db, job);
      const ledgerGone = async () =>
        (await db`select to_regnamespace('_reelforge_clone') is null as gone`)[0].gone;
      expect(await ledgerGone()).toBe(true);
      // The slice was killed before the job's end was recorded: its retry forgets the job again.
      // Before: "relation _reelforge_clone.applied does not exist", on every attempt.
      await forgetJob(db, job);
      expect(await ledgerGone()).toBe(true);
    } finally {
      await db.end();
      dropDatabaseInBackground(scratch, serverUrl);
    }
  });

  it("copying a ~200 MB table in one chunk keeps the process's memory flat", async () => {
    const [{ size }] = await source`select pg_size_pretty(pg_total_relation_size('big')) as size`;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      const copied = await copyChunk(wire, into, big, randomUUID(), null, 1_000_000);
      expect(copied).toEqual({ rows: 100_000, lastKey: ["100000"], done: true, replayed: false });
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peak - baseline) / 2 ** 20;
    console.log(
      `copied big (${size}, 200 MB of COPY text): RSS ${Math.round(baseline / 2 ** 20)} MB → peak ${
        Math.round(peak / 2 ** 20)
      } MB (+${growthMb.toFixed(1)} MB)`,
    );
    expect(growthMb).toBeLessThan(100);
    expect(await tableFingerprint(target, big)).toEqual(await tableFingerprint(source, big));
  });
});
