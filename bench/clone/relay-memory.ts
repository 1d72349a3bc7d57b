/**
 * Memory the clone's data relay holds in this process: two tables copied at once in key-range
 * chunks (as the data phase's two lanes do), source and target databases on the stack's cluster.
 * Samples this process's RSS, V8 heap and external (ArrayBuffer) memory every few ms, and the
 * kernel's RSS high-water mark, and prints their peaks beside the wall and CPU time.
 * `node_modules/.bin/deno run -A --v8-flags=--max-old-space-size=256 bench/clone/relay-memory.ts`
 * with the stack's ports exported (the flag is the worker's). RELAY_MB sets each table's size
 * (default 150); the source database is kept between runs (RELAY_KEEP=0 drops it).
 */
import postgres from "postgres";
import { randomUUID } from "node:crypto";
import { benchEnv } from "../support/stack-env.ts";
import { cloneWirePool, openCloneConnection, openCloneWire } from "../../shared/clone/clone-connections.ts";
import { copyChunk } from "../../shared/clone/copy-chunk.ts";
import { ensureLedger } from "../../shared/clone/target-ledger.ts";

const MB = Number(Deno.env.get("RELAY_MB") ?? 150);
const CHUNK_ROWS = Number(Deno.env.get("RELAY_CHUNK_ROWS") ?? 300_000);
const LANES = 2;
const { DB_URL } = benchEnv();
const admin = postgres(DB_URL, { max: 1, onnotice: () => {} });
const sourceDb = `relay_mem_src_${MB}`;
const targetDb = `relay_mem_dst_${randomUUID().slice(0, 8)}`;
const urlOf = (db: string) => Object.assign(new URL(DB_URL), { pathname: `/${db}` }).toString();
const tables = Array.from({ length: LANES }, (_, i) => `t${i}`);
const ddl = (name: string) => `create table ${name} (id bigint, n int, t text, ts timestamptz)`;

const [{ exists }] = await admin`select exists (select from pg_database where datname = ${sourceDb})`;
if (!exists) {
  await admin.unsafe(`create database ${sourceDb}`);
  const fill = openCloneConnection(urlOf(sourceDb), "relay-memory");
  for (const name of tables) {
    await fill.unsafe(`${ddl(name)}; insert into ${name} select i, i % 1000, repeat(md5(i::text), 1 + i % 4),
      now() from generate_series(1, ${
      Math.round(MB * 1e6 / 110)
    }) i; alter table ${name} add primary key (id)`);
  }
  await fill.end();
}
await admin.unsafe(`create database ${targetDb}`);
const target = openCloneConnection(urlOf(targetDb), "relay-memory");
const sources = cloneWirePool(() => openCloneWire(urlOf(sourceDb), "relay-memory"));
const targets = cloneWirePool(() => openCloneWire(urlOf(targetDb), "relay-memory"));

const mib = (bytes: number) => Math.round(bytes / 2 ** 20 * 10) / 10;
function hwmBytes(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
}
const peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0 };
const sample = () => {
  const usage = Deno.memoryUsage();
  for (const key of Object.keys(peak) as (keyof typeof peak)[]) peak[key] = Math.max(peak[key], usage[key]);
};

try {
  for (const name of tables) await target.unsafe(ddl(name));
  await ensureLedger(target);
  const before = { ...Deno.memoryUsage(), hwm: hwmBytes() };
  const sampler = setInterval(sample, 5);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const jobId = randomUUID();
  const rows = await Promise.all(tables.map(async (name) => {
    const table = {
      schema: "public",
      name,
      columns: ["id", "n", "t", "ts"],
      key: [{ column: "id", type: "bigint" }],
      estimatedRows: 0,
      partitioned: false,
    };
    let after: string[] | null = null;
    let count = 0;
    for (;;) {
      const chunk = await sources.use((source) =>
        targets.use((into) => copyChunk(source, into, table, jobId, after, CHUNK_ROWS))
      );
      count += chunk.rows;
      after = chunk.lastKey;
      if (chunk.done) return count;
    }
  }));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  sample();
  const [{ bytes }] = await target`
    select sum(pg_column_size(t0.*))::bigint * ${LANES} as bytes from t0`;
  console.log(
    `${rows.reduce((a, b) => a + b, 0)} rows, ${Math.round(Number(bytes) / 1e6)} MB in ${LANES} lanes: ` +
      `wall ${Math.round(wallMs)} ms, CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`,
  );
  console.log(
    `before: rss ${mib(before.rss)} heapUsed ${mib(before.heapUsed)} external ${mib(before.external)} MiB; ` +
      `peak: rss ${mib(peak.rss)} (VmHWM ${mib(hwmBytes())}, was ${mib(before.hwm)}) heapUsed ${
        mib(peak.heapUsed)
      } heapTotal ${mib(peak.heapTotal)} external ${mib(peak.external)} MiB`,
  );
} finally {
  sources.close();
  targets.close();
  await target.end();
  await admin.unsafe(`drop database if exists ${targetDb}`);
  if (Deno.env.get("RELAY_KEEP") === "0") await admin.unsafe(`drop database if exists ${sourceDb}`);
  await admin.end();
}
