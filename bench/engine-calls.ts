/**
 * Task engine: what one claim and one end cost the database, call by call, against graphile-worker.
 * `npm run bench -- engine-calls`: one connection calls each claim (or end) back to back, one task
 * per call, as a lone worker slot does; for each call it reports the database backend's CPU
 * (/proc/<pid>/schedstat of that connection's backend) and the round trip seen by the caller.
 * One claimer's rate in `npm run bench -- engine` is bound by the claim's round trip (its end
 * travels beside it), so this is where its gap to graphile-worker is taken apart:
 *  - claims: engine.claim_tasks (what workers call); its one-statement claim run directly (no
 *    function layers), and that statement without fair claiming's two probes; the
 *    narrow-row prototype (bench/engine/narrow-queue.ts) with the engine's guarantees, and without
 *    the indexes a claim adds entries to beyond the primary key;
 *    graphile-worker's get_job; `select 1` (a round trip that does nothing);
 *  - ends: engine.complete_tasks; its ending update run directly; the prototype's end (remove the
 *    narrow row, write the record); graphile-worker's complete_job.
 * The direct statements are read out of the installed functions (pg_get_functiondef), so they are
 * the engine's own; graphile-worker's are the ones it sent in a short run of its worker. Variants
 * alternate within each round; medians of ROUNDS rounds (BENCH_ROUNDS, default 5) of CALLS calls
 * (BENCH_CALLS, default 2000).
 * Then one claimer's drain of DRAIN_TASKS tasks (BENCH_TASKS, default 4000), claim and end as a
 * worker slot sends them (the end not awaited): the engine (as in `npm run bench -- engine`), the
 * narrow-row prototype with and without its two extra indexes, and graphile-worker's own worker;
 * ROUNDS drains each, the order alternating. A call's cost alone does not say what a drain does:
 * the end runs beside the next claim, on a machine with two cores.
 * Prints markdown tables and writes bench/results/engine-calls.json.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import postgres from "postgres";
import pg from "pg";
import { Logger, run, type WorkerEvents } from "graphile-worker";
import { benchEnv } from "./support/stack-env.ts";
import { machineInfo } from "./support/machine-info.ts";
import { markdownTable } from "./support/markdown-table.ts";
import { median, round } from "./support/stats.ts";
import { dropBenchUser, ensureBenchUser } from "./engine/bench-user.ts";
import {
  deleteEngineNoops,
  type DrainResult,
  drainWithEngine,
  enqueueEngineNoops,
  NOOP_KIND,
} from "./engine/engine-throughput.ts";
import {
  drainWithGraphile,
  dropGraphileSchema,
  enqueueGraphileNoops,
  GRAPHILE_SCHEMA,
  graphileUtils,
} from "./engine/graphile-throughput.ts";
import {
  createNarrowQueue,
  drainNarrow,
  dropNarrowQueue,
  NARROW_SCHEMA,
  type NarrowTable,
  queueNarrowRows,
} from "./engine/narrow-queue.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const CALLS = Number(Deno.env.get("BENCH_CALLS") ?? 2000);
const DRAIN_TASKS = Number(Deno.env.get("BENCH_TASKS") ?? 4000);
/** Calls before the clock: plans cached, functions compiled, as in a worker that has run a while. */
const WARM = 20;
const KINDS = [NOOP_KIND];
const WORKER = "bench-calls";

const env = benchEnv();
const sql = postgres(env.DB_URL, { max: 1, onnotice: () => {} });
/** The timed connection: every call of every variant goes through it, one at a time. */
const conn = postgres(env.DB_URL, { max: 1, onnotice: () => {} });
const utils = await graphileUtils(env.DB_URL);

// deno-lint-ignore no-explicit-any
type Row = any;
interface Variant {
  name: string;
  call: "claim" | "end";
  /** Queues (for claims) or claims (for ends) what the timed calls use; returns one item per call. */
  prepare(count: number): Promise<Row[]>;
  run(item: Row): Promise<Row[]>;
}

/** The engine's claim and end statements, out of the installed functions. */
async function engineStatements() {
  const [{ claim, complete }] = await sql`
    select pg_get_functiondef('engine.claim_next_task(text[], text, integer)'::regprocedure) as claim,
           pg_get_functiondef('engine.complete_task(uuid, bigint, jsonb, jsonb)'::regprocedure) as complete`;
  const claimStatement = between(claim, /if cardinality\(p_kinds\) = 1 then\s*/, /\s*into claimed;/)
    .replaceAll("p_kinds[1]", "($1::text[])[1]")
    .replaceAll("p_worker_id", "$2::text")
    .replaceAll("p_lease_seconds", "$3::integer");
  const probes = claimStatement.indexOf("and (b.user_id is null or (");
  const returning = claimStatement.lastIndexOf("returning *");
  if (probes < 0 || returning < probes) throw new Error("engine.claim_next_task's claim has changed shape");
  const endStatement = between(complete, /begin\s*/, /\s*into t;/)
    .replaceAll("p_task_id", "$1::uuid")
    .replaceAll("p_token", "$2::bigint")
    .replaceAll("p_result", "$3::jsonb")
    .replaceAll("p_metadata", "$4::jsonb");
  return {
    claim: claimStatement,
    claimWithoutProbes: claimStatement.slice(0, probes) + claimStatement.slice(returning),
    end: endStatement,
  };
}

function between(text: string, start: RegExp, end: RegExp): string {
  const from = text.match(start);
  if (!from || from.index === undefined) throw new Error(`no ${start} in the function`);
  const rest = text.slice(from.index + from[0].length);
  const to = rest.match(end);
  if (!to || to.index === undefined) throw new Error(`no ${end} in the function`);
  return rest.slice(0, to.index);
}

/** graphile-worker's get_job and complete_job, as its worker sent them in a run of a few jobs. */
async function graphileStatements() {
  const sent = new Map<string, { text: string; values: unknown[] }>();
  const done = Promise.withResolvers<void>();
  const pool = new pg.Pool({ connectionString: env.DB_URL, max: 4 });
  const failed = (error: Error) => done.reject(error);
  pool.on("error", failed);
  pool.on("connect", (client) => {
    client.on("error", failed);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    // deno-lint-ignore no-explicit-any
    (client as any).query = (config: any, ...rest: unknown[]) => {
      if (config && typeof config === "object" && typeof config.name === "string") {
        sent.set(config.name.split("/")[0], { text: config.text, values: config.values });
      }
      return query(config, ...rest);
    };
  });
  const events: WorkerEvents = new EventEmitter();
  let completed = 0;
  events.on("job:complete", () => ++completed === 3 && done.resolve());
  await enqueueGraphileNoops(utils, 3);
  const runner = await run({
    pgPool: pool,
    schema: GRAPHILE_SCHEMA,
    concurrency: 1,
    pollInterval: 100,
    noHandleSignals: true,
    logger: new Logger(() => () => {}),
    events,
    taskList: { noop: async () => {} },
  });
  await done.promise;
  await runner.stop();
  await pool.end();
  const getJob = sent.get("get_job");
  const completeJob = sent.get("complete_job");
  if (!getJob || !completeJob) throw new Error(`graphile-worker sent ${[...sent.keys()].join(", ")}`);
  return { getJob, completeJob };
}

async function claimEngineTasks(count: number): Promise<Row[]> {
  return await sql`select * from engine.claim_tasks(${KINDS}, ${WORKER}, 600, ${count}::integer)`;
}

async function variants(userId: string): Promise<Variant[]> {
  const engine = await engineStatements();
  const graphile = await graphileStatements();
  const queueEngine = async (count: number) => {
    await deleteEngineNoops(sql);
    await enqueueEngineNoops(sql, userId, count);
    return Array.from({ length: count });
  };
  const queueGraphile = async (count: number) => {
    await sql.unsafe(`delete from ${GRAPHILE_SCHEMA}._private_jobs`);
    await enqueueGraphileNoops(utils, count);
    return Array.from({ length: count });
  };
  const queueNarrow = (table: NarrowTable) => async (count: number) => {
    await queueEngine(count);
    await queueNarrowRows(sql, table, NOOP_KIND);
    return Array.from({ length: count });
  };
  const narrowClaim = (table: NarrowTable) => () =>
    conn.unsafe(`select * from ${NARROW_SCHEMA}.${table}_claim($1, $2, $3)`, [KINDS, WORKER, 30], {
      prepare: true,
    });
  const narrowEnd = (table: NarrowTable): Variant["prepare"] => async (count) => {
    await queueNarrow(table)(count);
    const claimed: Row[] = [];
    for (let i = 0; i < count; i++) {
      claimed.push(
        ...await sql.unsafe(`select * from ${NARROW_SCHEMA}.${table}_claim($1, $2, 600)`, [KINDS, WORKER]),
      );
    }
    return claimed;
  };
  const direct = (text: string, params: (item: Row) => unknown[]) => (item: Row) =>
    conn.unsafe(text, params(item) as never[], { prepare: true });
  return [
    {
      name: "engine.claim_tasks (what workers call)",
      call: "claim",
      prepare: queueEngine,
      run: () => conn`select * from engine.claim_tasks(${KINDS}, ${WORKER}, 30, 1)`,
    },
    {
      name: "its claim statement, run directly (no function layers)",
      call: "claim",
      prepare: queueEngine,
      run: direct(engine.claim, () => [KINDS, WORKER, 30]),
    },
    {
      name: "that statement without fair claiming's two probes",
      call: "claim",
      prepare: queueEngine,
      run: direct(engine.claimWithoutProbes, () => [KINDS, WORKER, 30]),
    },
    {
      name: "narrow-row prototype, with the engine's guarantees",
      call: "claim",
      prepare: queueNarrow("queue"),
      run: narrowClaim("queue"),
    },
    {
      name: "the prototype without its lease and task-id indexes",
      call: "claim",
      prepare: queueNarrow("queue_bare"),
      run: narrowClaim("queue_bare"),
    },
    {
      name: "graphile-worker get_job",
      call: "claim",
      prepare: queueGraphile,
      run: direct(graphile.getJob.text, () => graphile.getJob.values),
    },
    {
      name: "select 1 (a round trip that does nothing)",
      call: "claim",
      prepare: async (count) => Array.from({ length: count }),
      run: () => conn`select 1 as one`,
    },
    {
      name: "engine.complete_tasks (what workers call)",
      call: "end",
      prepare: async (count) => (await queueEngine(count), await claimEngineTasks(count)),
      run: (t) =>
        conn`select engine.complete_tasks(${[t.id]}::uuid[], ${[t.fencing_token]}::bigint[], ${
          conn.json([null])
        }) as ended`,
    },
    {
      name: "its ending update, run directly",
      call: "end",
      prepare: async (count) => (await queueEngine(count), await claimEngineTasks(count)),
      run: direct(engine.end, (t) => [t.id, t.fencing_token, null, {}]),
    },
    {
      name: "narrow-row prototype: remove the row, write the record",
      call: "end",
      prepare: narrowEnd("queue"),
      run: direct(
        `select ${NARROW_SCHEMA}.queue_complete($1, $2, null) as ended`,
        (t) => [t.id, t.fencing_token],
      ),
    },
    {
      name: "the same without its lease and task-id indexes",
      call: "end",
      prepare: narrowEnd("queue_bare"),
      run: direct(
        `select ${NARROW_SCHEMA}.queue_bare_complete($1, $2, null) as ended`,
        (t) => [t.id, t.fencing_token],
      ),
    },
    {
      name: "graphile-worker complete_job",
      call: "end",
      prepare: async (count) => {
        await queueGraphile(count);
        return await sql.unsafe(`select id from ${GRAPHILE_SCHEMA}._private_jobs order by id`);
      },
      // A delete answers no rows: one per job here, and checkEnds sees that every job is gone.
      run: async (job) => (await direct(graphile.completeJob.text, (j) => [j.id])(job), [job]),
    },
  ];
}

/** The timed connection's backend CPU so far, in µs; null when its backend is not on this machine. */
function backendCpu(pid: number): () => number | null {
  return () => {
    if (!env.PG_DATA) return null;
    try {
      return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
    } catch {
      return null;
    }
  };
}

interface Round {
  cpuUs: number | null;
  roundTripUs: number;
}

async function timeVariant(variant: Variant, cpuNow: () => number | null): Promise<Round> {
  const items = await variant.prepare(WARM + CALLS);
  for (const item of items.slice(0, WARM)) await variant.run(item);
  const cpuBefore = cpuNow();
  const started = performance.now();
  let answered = 0;
  for (const item of items.slice(WARM)) answered += (await variant.run(item)).length;
  const ms = performance.now() - started;
  const cpuAfter = cpuNow();
  // Every call must have done its work: a claim that found nothing would flatter its variant (an
  // end answers a row either way; checkEnds reads whether each ended).
  if (answered !== CALLS) throw new Error(`${variant.name}: ${answered} of ${CALLS} calls answered`);
  return {
    cpuUs: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / CALLS,
    roundTripUs: (ms * 1000) / CALLS,
  };
}

async function checkEnds(variant: Variant): Promise<void> {
  if (variant.call !== "end") return;
  const [{ open }] = await sql.unsafe(
    variant.name.startsWith("graphile")
      ? `select count(*)::int as open from ${GRAPHILE_SCHEMA}._private_jobs`
      : `select count(*)::int as open from public.background_tasks where kind = $1 and status <> 'succeeded'`,
    variant.name.startsWith("graphile") ? [] : [NOOP_KIND],
  );
  // The warm-up's and the timed calls' tasks all ended; nothing else was queued.
  if (open !== 0) throw new Error(`${variant.name}: ${open} tasks or jobs did not end`);
}

/** One claimer's drains: each variant queues DRAIN_TASKS tasks (not timed), then drains them. */
function drains(userId: string): { name: string; drain(): Promise<DrainResult> }[] {
  const narrow = (table: NarrowTable) => async () => {
    await deleteEngineNoops(sql);
    await enqueueEngineNoops(sql, userId, DRAIN_TASKS);
    await queueNarrowRows(sql, table, NOOP_KIND);
    return await drainNarrow(env.DB_URL, table, NOOP_KIND);
  };
  return [
    {
      name: "engine (engine.claim_tasks, engine.complete_tasks)",
      drain: async () => {
        await deleteEngineNoops(sql);
        await enqueueEngineNoops(sql, userId, DRAIN_TASKS);
        return await drainWithEngine(env.DB_URL, 1, null);
      },
    },
    { name: "narrow-row prototype, with the engine's guarantees", drain: narrow("queue") },
    { name: "the prototype without its lease and task-id indexes", drain: narrow("queue_bare") },
    {
      name: "graphile-worker (its worker, concurrency 1)",
      drain: async () => {
        await sql.unsafe(`delete from ${GRAPHILE_SCHEMA}._private_jobs`);
        await enqueueGraphileNoops(utils, DRAIN_TASKS);
        return await drainWithGraphile(env.DB_URL, utils, 1, DRAIN_TASKS, null);
      },
    },
  ];
}

async function measureDrains(userId: string) {
  const all = drains(userId);
  const runs = new Map(all.map((d) => [d.name, [] as number[]]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const variant of r % 2 ? [...all].reverse() : all) {
      const drained = await variant.drain();
      if (drained.tasks !== DRAIN_TASKS) {
        throw new Error(`${variant.name} drained ${drained.tasks} of ${DRAIN_TASKS} tasks`);
      }
      runs.get(variant.name)!.push(drained.tasksPerSecond);
    }
    console.error(`drain round ${r + 1} of ${ROUNDS} done`);
  }
  await deleteEngineNoops(sql);
  return all.map((d) => ({
    variant: d.name,
    tasksPerSecond: round(median(runs.get(d.name)!), 0),
    runsTasksPerSecond: runs.get(d.name)!.map((n) => round(n, 0)),
  }));
}

try {
  const machine = await machineInfo(sql);
  const userId = await ensureBenchUser(sql);
  await deleteEngineNoops(sql);
  await utils.migrate();
  await createNarrowQueue(sql);
  const all = await variants(userId);
  const [{ pid }] = await conn`select pg_backend_pid() as pid`;
  const cpuNow = backendCpu(pid);
  const rounds = new Map(all.map((v) => [v.name, [] as Round[]]));
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating the order keeps drift over the run (autovacuum, caches) from favouring a variant.
    for (const variant of r % 2 ? [...all].reverse() : all) {
      rounds.get(variant.name)!.push(await timeVariant(variant, cpuNow));
      await checkEnds(variant);
    }
    console.error(`round ${r + 1} of ${ROUNDS} done`);
  }
  const results = all.map((v) => {
    const runs = rounds.get(v.name)!;
    const cpu = runs.map((x) => x.cpuUs).filter((x) => x !== null);
    return {
      call: v.call,
      variant: v.name,
      databaseCpuUs: cpu.length === runs.length ? round(median(cpu), 0) : null,
      roundTripUs: round(median(runs.map((x) => x.roundTripUs)), 0),
      roundsCpuUs: runs.map((x) => (x.cpuUs === null ? null : round(x.cpuUs, 0))),
      roundsRoundTripUs: runs.map((x) => round(x.roundTripUs, 0)),
    };
  });
  console.log(
    `## One call at a time, one task per call: database CPU and round trip per call (µs), median of ${ROUNDS} rounds of ${CALLS}\n`,
  );
  console.log(markdownTable(
    ["call", "variant", "database CPU", "round trip"],
    results.map((r) => [r.call, r.variant, r.databaseCpuUs ?? "-", r.roundTripUs]),
  ));
  const drained = await measureDrains(userId);
  console.log(`\n## One claimer draining ${DRAIN_TASKS} tasks, median of ${ROUNDS} drains (tasks/s)\n`);
  console.log(markdownTable(["variant", "tasks/s"], drained.map((d) => [d.variant, d.tasksPerSecond])));
  const path = new URL("./results/engine-calls.json", import.meta.url);
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      {
        benchmark: "engine-calls",
        machine,
        config: {
          rounds: ROUNDS,
          callsPerRound: CALLS,
          warmCalls: WARM,
          drainTasks: DRAIN_TASKS,
          graphileWorker: "0.17.3",
        },
        results,
        drains: drained,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nwrote ${path.pathname}`);
} finally {
  await dropNarrowQueue(sql);
  await deleteEngineNoops(sql);
  await dropGraphileSchema(utils);
  await dropBenchUser(sql);
  await utils.release();
  await conn.end();
  await sql.end();
}
