/**
 * CPU the clone's data relay costs this process per 100 MB: copyChunk over one ~100 MB table
 * (mixed widths), source and target databases on the stack's cluster, made and dropped here.
 * `node_modules/.bin/deno run -A bench/clone/relay-cpu.ts` with the stack's ports exported.
 */
import postgres from "postgres";
import { randomUUID } from "node:crypto";
import { benchEnv } from "../support/stack-env.ts";
import { openCloneConnection, openCloneWire } from "../../shared/clone/clone-connections.ts";
import { copyChunk } from "../../shared/clone/copy-chunk.ts";
import { ensureLedger } from "../../shared/clone/target-ledger.ts";

const MB = Number(Deno.env.get("RELAY_MB") ?? 100);
const { DB_URL } = benchEnv();
const admin = postgres(DB_URL, { max: 1, onnotice: () => {} });
const suffix = randomUUID().slice(0, 8);
const urlOf = (db: string) => Object.assign(new URL(DB_URL), { pathname: `/${db}` }).toString();
const ddl = "create table t (id bigint, n int, t text, ts timestamptz)";
await admin.unsafe(`create database relay_src_${suffix}`);
await admin.unsafe(`create database relay_dst_${suffix}`);
const source = openCloneConnection(urlOf(`relay_src_${suffix}`), "relay-cpu");
const target = openCloneConnection(urlOf(`relay_dst_${suffix}`), "relay-cpu");
try {
  await source.unsafe(`${ddl}; insert into t select i, i % 1000, repeat(md5(i::text), 1 + i % 4),
    now() from generate_series(1, ${Math.round(MB * 1e6 / 110)}) i; alter table t add primary key (id)`);
  await target.unsafe(ddl);
  await ensureLedger(target);
  const table = {
    schema: "public",
    name: "t",
    columns: ["id", "n", "t", "ts"],
    key: [{ column: "id", type: "bigint" }],
    estimatedRows: 0,
    partitioned: false,
  };
  const [{ bytes }] = await source`select sum(pg_column_size(t.*))::bigint as bytes from t`;
  const wire = await openCloneWire(urlOf(`relay_src_${suffix}`), "relay-cpu");
  const into = await openCloneWire(urlOf(`relay_dst_${suffix}`), "relay-cpu");
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let after: string[] | null = null;
  let rows = 0;
  for (;;) {
    const chunk = await copyChunk(wire, into, table, randomUUID(), after, 200_000);
    rows += chunk.rows;
    after = chunk.lastKey;
    if (chunk.done) break;
  }
  const cpu = process.cpuUsage(cpu0);
  wire.close();
  into.close();
  const wallMs = performance.now() - t0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const per100 = (ms: number) => Math.round(ms * 100e6 / Number(bytes));
  console.log(
    `${rows} rows, ${Math.round(Number(bytes) / 1e6)} MB: wall ${Math.round(wallMs)} ms, ` +
      `CPU ${Math.round(cpuMs)} ms (user ${Math.round(cpu.user / 1000)}, sys ${
        Math.round(cpu.system / 1000)
      }); ` +
      `per 100 MB: wall ${per100(wallMs)} ms, CPU ${per100(cpuMs)} ms`,
  );
} finally {
  await Promise.allSettled([source.end(), target.end()]);
  await admin.unsafe(`drop database if exists relay_src_${suffix}`);
  await admin.unsafe(`drop database if exists relay_dst_${suffix}`);
  await admin.end();
}
