/**
 * The tables of bench/README.md, generated from bench/results/*.json: `npm run bench:tables`
 * rewrites every region between `<!-- tables:begin NAME -->` and `<!-- tables:end NAME -->` with
 * what the committed results say, so no figure in the benchmarks' documentation is typed by hand.
 * Pure functions plus a main: runs under Deno (the npm script) and Node (the unit test).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { markdownTable } from "./markdown-table.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** Every results file by benchmark name (`engine` for bench/results/engine.json). */
export type Results = Record<string, Json>;

/** Reads every bench/results/*.json under `benchDir`. */
export function readResults(benchDir: string): Results {
  const dir = join(benchDir, "results");
  const results: Results = {};
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".json")).sort()) {
    results[file.replace(/\.json$/, "")] = JSON.parse(readFileSync(join(dir, file), "utf8"));
  }
  return results;
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const percent = (share: number) => `${Math.round(share * 100)} %`;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The line naming where and when a results file was measured, from its `machine` block. */
function machineLine(result: Json): string {
  const m = result.machine;
  const settings = m.postgresSettings ?? {};
  const commit = result.commit ?? result.code?.commit;
  return `Measured ${m.date.slice(0, 10)} on ${m.cpuCount} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ` +
    `Node ${
      m.node.replace(/^v/, "")
    }, Deno ${m.deno}, PostgreSQL ${m.postgres} with fsync ${settings.fsync} ` +
    `and synchronous_commit ${settings.synchronous_commit}` +
    (commit ? `, commit \`${commit.slice(0, 7)}\`` : "") +
    ` (\`bench/results/${result.benchmark}.json\`).`;
}

/** "1 M finished" for a history of 1,000,000 tasks. */
function historyLabel(tasks: number): string {
  return tasks >= 1e6
    ? `${Number((tasks / 1e6).toFixed(1))} M finished`
    : `${Math.round(tasks / 1e3)} k finished`;
}

function engineTables(engine: Json): string {
  // Results written before the history runs (issue 17) have none of them and no history aim.
  const history: Json[] = engine.history ?? [];
  const historyAim = engine.aim.minHistoryRatio;
  const throughputRows: (string | number)[][] = [];
  for (const [i, row] of engine.throughput.entries()) {
    const conditions = [
      { name: "none", row },
      ...history.map((run) => ({ name: historyLabel(run.tasks), row: run.throughput[i] })),
    ];
    for (const { name, row: level } of conditions) {
      throughputRows.push([
        level.concurrency,
        ...(history.length ? [name] : []),
        Math.round(level.engine.median),
        Math.round(level.graphileWorker.median),
        fixed(level.ratio, 2),
        level.meetsAim ? "met" : "not met",
        ...(history.length
          ? [
            level.engineVsFresh === undefined
              ? "–"
              : `${fixed(level.engineVsFresh, 2)} (${level.meetsHistoryAim ? "met" : "not met"})`,
            level.ratioVsFresh === undefined
              ? "–"
              : `${fixed(level.ratioVsFresh, 2)} (${
                level.meetsHistoryAimAgainstGraphile ? "met" : "not met"
              })`,
          ]
          : []),
      ]);
    }
  }
  const throughput = markdownTable(
    [
      "concurrency",
      ...(history.length ? ["history"] : []),
      "engine (tasks/s)",
      `graphile-worker ${engine.config.graphileWorker} (tasks/s)`,
      "engine / graphile",
      `aim ≥ ${engine.aim.minRatio}×`,
      ...(history.length
        ? [
          `engine vs no history (aim ≥ ${historyAim}×)`,
          `engine / graphile vs no history's (aim ≥ ${historyAim}×)`,
        ]
        : []),
    ],
    throughputRows,
  );
  // Database CPU per task, where the run could read it (results before it have none).
  const cpuRows = [
    { name: "none", levels: engine.throughput },
    ...history.map((run) => ({ name: historyLabel(run.tasks), levels: run.throughput })),
  ].flatMap(({ name, levels }) =>
    levels.filter((level: Json) =>
      level.engine.databaseCpuUsPerTask && level.graphileWorker.databaseCpuUsPerTask
    )
      .map((level: Json) => [
        level.concurrency,
        ...(history.length ? [name] : []),
        `${level.engine.databaseCpuUsPerTask} µs`,
        `${level.graphileWorker.databaseCpuUsPerTask} µs`,
        fixed(level.engine.databaseCpuUsPerTask / level.graphileWorker.databaseCpuUsPerTask, 2),
      ])
  );
  const cpu = cpuRows.length
    ? markdownTable(
      [
        "concurrency",
        ...(history.length ? ["history"] : []),
        "engine",
        "graphile-worker",
        "engine / graphile",
      ],
      cpuRows,
    )
    : null;
  // Each engine run's rate and the heap pages its tasks were on (results before it have none).
  const runRows = [
    { name: "none", levels: engine.throughput },
    ...history.map((run) => ({ name: historyLabel(run.tasks), levels: run.throughput })),
  ].flatMap(({ name, levels }) =>
    levels.filter((level: Json) => level.engine.runsHeapPages)
      .map((level: Json) => [
        level.concurrency,
        ...(history.length ? [name] : []),
        level.engine.runsTasksPerSecond.map((rate: number, i: number) =>
          `${Math.round(rate)} (${level.engine.runsHeapPages[i]})`
        ).join(", "),
      ])
  );
  const runs = runRows.length
    ? markdownTable(
      ["concurrency", ...(history.length ? ["history"] : []), "engine runs in order: tasks/s (heap pages)"],
      runRows,
    )
    : null;
  const handoffRow = (name: string, handoff: Json) => [
    ...(history.length ? [name] : []),
    `${engine.config.handoffTasks} × ${engine.config.handoffUnits}`,
    handoff.pooled.handOffs,
    `${handoff.pooled.p50Ms} ms`,
    `${handoff.pooled.p95Ms} ms`,
    `${handoff.pooled.maxMs} ms`,
    handoff.meetsAim ? "met" : "not met",
  ];
  const handoff = markdownTable(
    [
      ...(history.length ? ["history"] : []),
      "tasks × slices",
      "hand-offs",
      "p50",
      "p95",
      "max",
      `aim p50 ≤ ${engine.aim.handoffP50Ms} ms`,
    ],
    [
      handoffRow("none", engine.handoff),
      ...history.filter((run) => run.handoff.pooled).map((run) =>
        handoffRow(historyLabel(run.tasks), run.handoff)
      ),
    ],
  );
  const lines = [
    machineLine(engine),
    `${engine.config.tasksPerRun} no-op tasks per run, median of ${engine.config.repeats} runs` +
    (history.length
      ? `, without a history and with ${history.map((run) => historyLabel(run.tasks)).join(", then ")} ` +
        `\`succeeded\` tasks (${engine.config.history.stepsPerTask} steps each) in \`background_tasks\`:`
      : ":"),
    "",
    throughput,
    ...(cpu
      ? [
        "",
        "Database CPU per task: every Postgres process's CPU time over the timed window (from /proc), " +
        "divided by the tasks, median of the runs:",
        "",
        cpu,
      ]
      : []),
    ...(runs
      ? [
        "",
        "The engine's runs, each with the number of heap pages its queued tasks were on as it started:",
        "",
        runs,
      ]
      : []),
    "",
    "Hand-off latency:",
    "",
    handoff,
  ];
  const retention = engine.retention;
  if (retention?.run) {
    const { run, withoutRetention: alone, withRetention: beside } = retention;
    lines.push(
      "",
      `Retention over the ${
        historyLabel(history[history.length - 1].tasks).replace(" finished", "")
      } history: ` +
        `\`engine.retain()\` back to back (batch ${run.batchSize}) for ${fixed(run.seconds, 1)} s beside ` +
        `${retention.concurrency} claimers, against a window of the same claimers alone:`,
      "",
      markdownTable(
        ["figure", "value"],
        [
          ["batches, tasks removed", `${run.batches}, ${run.tasksRemoved}`],
          [
            "rows removed (tasks and their steps)",
            `${run.rowsRemoved} (${Math.round(run.rowsPerSecond)} rows/s)`,
          ],
          ["batch p50 / max", `${Math.round(run.batchP50Ms)} ms / ${Math.round(run.batchMaxMs)} ms`],
          ["claims alone: tasks/s, claim p50 / p99 / max", claimFigures(alone)],
          ["claims beside retention: tasks/s, claim p50 / p99 / max", claimFigures(beside)],
          ...(retention.archiving
            ? [
              [
                "archiving instead: batches, tasks archived and removed",
                `${retention.archiving.batches}, ${retention.archiving.tasksRemoved}`,
              ],
              [
                "archiving: rows removed (tasks and their steps)",
                `${retention.archiving.rowsRemoved} (${
                  Math.round(retention.archiving.rowsPerSecond)
                } rows/s)`,
              ],
              [
                "archiving: batch p50 / max",
                `${Math.round(retention.archiving.batchP50Ms)} ms / ${
                  Math.round(retention.archiving.batchMaxMs)
                } ms`,
              ],
              [
                "claims beside archiving: tasks/s, claim p50 / p99 / max",
                claimFigures(retention.withArchiving),
              ],
            ]
            : []),
          ...(beside.lockWaits
            ? [[
              `claimers seen waiting on a lock (pg_stat_activity every 20 ms), alone / beside retention`,
              `${lockWaitFigures(alone.lockWaits)} / ${lockWaitFigures(beside.lockWaits)}`,
            ]]
            : []),
        ],
      ),
    );
  }
  return lines.join("\n");
}

function lockWaitFigures(waits: Json): string {
  return `${waits.samplesWithAWait} of ${waits.samples} samples, longest ${fixed(waits.longestMs, 1)} ms`;
}

function claimFigures(window: Json): string {
  return `${Math.round(window.tasksPerSecond)}, ${fixed(window.claimP50Ms, 1)} / ${
    fixed(window.claimP99Ms, 1)
  } / ` +
    `${fixed(window.claimMaxMs, 1)} ms`;
}

function cloneTables(clone: Json): string {
  const { cloneDatabase: db, pgDumpPsql: dump, pgcopydb } = clone.tools;
  const kills = clone.kills;
  const killCount = clone.config.killAt.length;
  // Results written before CPU, slices and per-phase times were reported render without them.
  const hasCpu = db.medianCpuSeconds !== undefined;
  const cpu = (
    tool: Json,
  ) => (hasCpu ? [`${fixed(tool.medianCpuSeconds, 1)} (${fixed(tool.cpuSecondsPerGB, 1)})`] : []);
  const tools = markdownTable(
    [
      "tool",
      "wall s (median)",
      "runs s",
      "MB/s",
      "vs `pg_dump \\| psql`",
      ...(hasCpu ? ["CPU s (per GB)"] : []),
      "worker peak RSS MiB (runs)",
    ],
    [
      [
        "clone-database (through the gateway, default slices)",
        fixed(db.medianSeconds, 1),
        db.runsSeconds.map((s: number) => fixed(s, 1)).join(", "),
        fixed(db.mbPerSecond, 1),
        fixed(db.ratioToPgDump, 2),
        ...cpu(db),
        `${fixed(db.peakWorkerRssMiB, 0)} (${
          db.runsPeakWorkerRssMiB.map((m: number) => fixed(m, 0)).join(", ")
        })`,
      ],
      [
        `\`pg_dump -n ${clone.config.schema} \\| psql\``,
        fixed(dump.medianSeconds, 1),
        dump.runsSeconds.map((s: number) => fixed(s, 1)).join(", "),
        fixed(dump.mbPerSecond, 1),
        fixed(dump.ratioToPgDump, 2),
        ...cpu(dump),
        "–",
      ],
      [
        `pgcopydb ${pgcopydb.version} (${pgcopydb.parallelism.copy} COPY + ${pgcopydb.parallelism.createIndex} index processes)`,
        fixed(pgcopydb.medianSeconds, 1),
        pgcopydb.runsSeconds.map((s: number) => fixed(s, 1)).join(", "),
        fixed(pgcopydb.mbPerSecond, 1),
        fixed(pgcopydb.ratioToPgDump, 2),
        ...cpu(pgcopydb),
        "–",
      ],
      [
        `clone-database with ${killCount} forced kills, ${clone.config.killLeaseSeconds} s lease`,
        fixed(kills.seconds, 1),
        "1 run",
        fixed(kills.mbPerSecond, 1),
        `${fixed(dump.medianSeconds / kills.seconds, 2)} (+${fixed(kills.extraPercent, 1)} %)`,
        ...(hasCpu
          ? [`${fixed(kills.workerCpu.seconds, 1)} (${fixed(kills.workerCpu.secondsPerGB, 1)})`]
          : []),
        fixed(kills.memory.peakMiB, 0),
      ],
    ],
  );
  const phases = db.medianRun.phases.filter((p: Json) => p.seconds > 0.5);
  const phaseTable = markdownTable(
    ["phase of the median clean run", "s", "share"],
    phases.map((p: Json) => [p.phase, fixed(p.seconds, 1), percent(p.share)]),
  );
  const verify = db.medianRun.phases.find((p: Json) => p.phase === "verify")?.seconds ?? 0;
  const aims = clone.aim;
  const facts = markdownTable(
    ["figure", "value", "aim"],
    [
      [
        "data phase throughput inside the COPY chunks",
        `${fixed(db.medianRun.dataPhase.mbPerSecond, 0)} MB/s`,
        "",
      ],
      [
        "clone-database vs `pg_dump \\| psql` (without the verify phase)",
        `${fixed(db.ratioToPgDump, 2)}× (${fixed(dump.medianSeconds / (db.medianSeconds - verify), 2)}×)`,
        `≥ ${aims.minRatioToPgDump}× (${clone.aimsMet.throughput ? "met" : "not met"})`,
      ],
      ...(aims.minRatioToPgcopydb !== undefined && db.ratioToPgcopydb !== null
        ? [[
          "clone-database vs pgcopydb",
          `${fixed(db.ratioToPgcopydb, 2)}×`,
          `≥ ${aims.minRatioToPgcopydb}× (${clone.aimsMet.vsPgcopydb ? "met" : "not met"})`,
        ]]
        : []),
      ...(db.medianRun.phaseSeconds
        ? [[
          "data / post_data / verify of the median clean run",
          ["data", "post_data", "verify"].map((phase) =>
            `${fixed(db.medianRun.phaseSeconds[phase] ?? 0, 1)} s`
          )
            .join(" / "),
          "",
        ]]
        : []),
      ...(hasCpu
        ? [[
          "function workers' CPU per GB copied (pg_dump \\| psql, pgcopydb: their processes')",
          `${fixed(db.cpuSecondsPerGB, 1)} s (${fixed(dump.cpuSecondsPerGB, 1)} s, ${
            pgcopydb.cpuSecondsPerGB === undefined ? "–" : `${fixed(pgcopydb.cpuSecondsPerGB, 1)} s`
          })`,
          "",
        ]]
        : []),
      ...(db.medianRun.slices?.slicesEnded
        ? [[
          "slices of the median clean run ended by (worker exits)",
          `${sliceCounts(db.medianRun.slices.slicesEnded)} (${
            sliceCounts(db.medianRun.slices.workerExits ?? {})
          })`,
          "",
        ]]
        : []),
      [
        "worker RSS before the first checkpoint",
        `${fixed(db.medianRun.memory.sampledPeakByPhaseMiB["before the first checkpoint"], 0)} MiB`,
        "",
      ],
      [
        "worker peak RSS",
        `${fixed(db.peakWorkerRssMiB, 0)} MiB`,
        `< ${aims.maxWorkerPeakMiB} MiB (${clone.aimsMet.workerPeakRss ? "met" : "not met"})`,
      ],
      ["back on a fresh worker after a kill (median)", `${fixed(median(kills.recoverySeconds), 1)} s`, ""],
      [
        `extra time for ${killCount} kills`,
        `${fixed(kills.extraSecondsOverMedian, 1)} s (${
          fixed(kills.extraSecondsOverMedian / killCount, 1)
        } s a kill)`,
        `< ${aims.maxKillOverheadPercent} % (${clone.aimsMet.killOverhead ? "met" : "not met"}: +${
          fixed(kills.extraPercent, 1)
        } %)`,
      ],
    ],
  );
  return [
    machineLine(clone),
    `Dataset: ${clone.dataset.tables} tables, ${clone.dataset.rows} rows, ${
      fixed(clone.dataset.bytes / 2 ** 30, 2)
    } GiB (scale ${clone.dataset.scale}); median of ${clone.config.repeats}.`,
    "",
    tools,
    "",
    phaseTable,
    "",
    facts,
  ].join("\n");
}

/** "cpu_budget 3, finished 1": the reasons that happened, or "none". */
function sliceCounts(counts: Record<string, number>): string {
  const happened = Object.entries(counts).filter(([, n]) => n > 0);
  return happened.length ? happened.map(([reason, n]) => `${reason} ${n}`).join(", ") : "none";
}

function renderTables(render: Json): string {
  const table = markdownTable(
    ["path", "media s", "wall s (median)", "runs s", "× real time", "peak RSS worker / FFmpeg MiB"],
    render.results.map((r: Json) => [
      r.path,
      r.mediaSeconds,
      fixed(r.wallSecondsMedian, 2),
      r.wallSecondsRuns.map((s: number) => fixed(s, 2)).join(", "),
      r.timesRealTime,
      r.peakRss ? `${fixed(r.peakRss.workerPeakMiB, 0)} / ${fixed(r.peakRss.childPeakMiB, 0)}` : "–",
    ]),
  );
  return [machineLine(render), `Median of ${render.repeats}.`, "", table].join("\n");
}

/** A slices block as one row: slices by reason, worker exits by reason (zeros left out). */
function sliceCells(slices: Json): string[] {
  const nonZero = (counts: Record<string, number> | null) =>
    counts
      ? Object.entries(counts).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${n}`).join(", ") ||
        "none"
      : "not recorded";
  const total = slices.slicesEnded
    ? Object.values(slices.slicesEnded as Record<string, number>).reduce((a, b) => a + b, 0)
    : 0;
  return [String(total), nonZero(slices.slicesEnded), nonZero(slices.workerExits)];
}

function filmTables(film: Json): string {
  const results = markdownTable(
    [
      "film asked / rendered s",
      "scenes / shots",
      "wall s",
      "critical path s",
      "wall / CP",
      "one-by-one s",
      "one-by-one / wall",
      "step overhead p50 / p95 ms",
      "hand-off gap p50 / p95 ms",
      "peak connections (functions)",
    ],
    film.results.map((r: Json) => [
      `${r.secondsAsked} / ${fixed(r.renderedSeconds, 1)}`,
      `${r.scenesMade} / ${r.shots}`,
      fixed(r.wallSeconds, 2),
      fixed(r.criticalPathSeconds, 2),
      r.wallOverCriticalPath,
      fixed(r.sequentialSeconds, 2),
      r.sequentialOverWall,
      `${r.stepOverheadMs.p50} / ${r.stepOverheadMs.p95}`,
      `${r.handoffGapMs.p50} / ${r.handoffGapMs.p95}`,
      `${r.peakConnections.total} (${r.peakConnections.functions})`,
    ]),
  );
  const slices = markdownTable(
    ["film", "slices", "slices ended by", "function workers ended by"],
    [
      ...film.results.map((r: Json) => [`${r.minutesAsked} min`, ...sliceCells(r.slices)]),
      ["all films", ...sliceCells(film.slices)],
    ],
  );
  const latencies = Object.entries(film.latenciesMs as Record<string, number>).map(([kind, ms]) =>
    `${kind} ${ms} ms`
  ).join(", ");
  return [machineLine(film), `Fake latencies: ${latencies}.`, "", results, "", slices].join("\n");
}

/**
 * Supabase's published compute sizes (https://supabase.com/docs/guides/platform/compute-and-disk,
 * "Limits and constraints"): the input of the sizing table, not a measurement.
 */
const COMPUTE_SIZES: [string, string, number, number][] = [
  ["Nano (free)", "up to 0.5 GB", 60, 200],
  ["Micro", "1 GB", 60, 200],
  ["Small", "2 GB", 90, 400],
  ["Medium", "4 GB", 120, 600],
  ["Large", "8 GB", 160, 800],
  ["XL", "16 GB", 240, 1000],
  ["2XL", "32 GB", 380, 1500],
  ["4XL", "64 GB", 480, 3000],
  ["8XL", "128 GB", 490, 6000],
  ["12XL", "192 GB", 500, 9000],
  ["16XL", "256 GB", 500, 12000],
];
/** Connections a function worker holds at most: query pool 4 (shared/db/client.ts) + lease 1; pooled, no lease. */
const WORKER_DIRECT = 5;
const WORKER_POOLED = 4;

function filmSizingTable(film: Json): string {
  const perFilm = Math.max(...film.results.map((r: Json) => r.peakConnections.functions));
  const thousands = (n: number) => n.toLocaleString("en-US");
  const table = markdownTable(
    [
      "compute",
      "memory",
      "max_connections (direct)",
      "pooler max clients",
      "function workers, direct",
      "films at once, direct",
      "function workers, pooled",
      "films at once, pooled",
    ],
    COMPUTE_SIZES.map(([name, memory, direct, pooled]) => [
      name,
      memory,
      direct,
      thousands(pooled),
      Math.floor(direct / WORKER_DIRECT),
      Math.floor(direct / perFilm),
      thousands(Math.floor(pooled / WORKER_POOLED)),
      thousands(Math.floor(pooled / perFilm)),
    ]),
  );
  return [
    `Workers = ⌊limit / ${WORKER_DIRECT}⌋ direct or ⌊limit / ${WORKER_POOLED}⌋ pooled; films = ⌊limit / ${perFilm}⌋ either way, ` +
    `${perFilm} being the highest peak of function connections one film reached in \`bench/results/film.json\`.`,
    "",
    table,
  ].join("\n");
}

function imagesTables(images: Json): string {
  const kept = (side: Json) => side.runs.map((r: Json) => r.present).join(", ");
  const table = markdownTable(
    [
      "approach",
      `images kept of ${images.config.saves} (runs)`,
      "images lost (median)",
      "saves/s (median)",
      "vs JSONB",
    ],
    [
      [
        "`generated_images`: `save_generated_image` (insert … on conflict on the slot)",
        kept(images.table),
        images.table.lostMedian,
        fixed(images.table.savesPerSecondMedian, 1),
        `${fixed(images.table.savesPerSecondMedian / images.jsonb.savesPerSecondMedian, 1)}×`,
      ],
      [
        "JSONB read-modify-write (read `generated_output`, append in JS, write back)",
        kept(images.jsonb),
        images.jsonb.lostMedian,
        fixed(images.jsonb.savesPerSecondMedian, 1),
        "1",
      ],
    ],
  );
  return [
    machineLine(images),
    `${images.config.saves} saves over ${images.config.connections} connections each way, median of ${images.config.repeats}; ` +
    `JSONB lost ${percent(images.jsonb.lostMedian / images.config.saves)} of the images (median).`,
    "",
    table,
  ].join("\n");
}

function engineCallsTable(calls: Json): string {
  const getJob = calls.results.find((r: Json) => r.variant.startsWith("graphile-worker get_job"));
  const completeJob = calls.results.find((r: Json) => r.variant.startsWith("graphile-worker complete_job"));
  const table = markdownTable(
    ["call", "what is called", "database CPU", "round trip", "round trip vs graphile-worker's"],
    calls.results.map((r: Json) => {
      const graphile = r.call === "claim" ? getJob : completeJob;
      return [
        r.call,
        r.variant,
        r.databaseCpuUs === null ? "–" : `${r.databaseCpuUs} µs`,
        `${r.roundTripUs} µs`,
        r.variant.startsWith("select 1") ? "–" : fixed(r.roundTripUs / graphile.roundTripUs, 2),
      ];
    }),
  );
  const graphileDrain = calls.drains.find((d: Json) => d.variant.startsWith("graphile-worker"));
  const drains = markdownTable(
    ["one claimer drains", "tasks/s", "vs graphile-worker"],
    calls.drains.map((
      d: Json,
    ) => [d.variant, d.tasksPerSecond, fixed(d.tasksPerSecond / graphileDrain.tasksPerSecond, 2)]),
  );
  return [
    machineLine(calls),
    `One connection, one task per call, calls back to back; median of ${calls.config.rounds} rounds of ` +
    `${calls.config.callsPerRound} calls, the variants alternating within each round:`,
    "",
    table,
    "",
    `One claimer draining ${calls.config.drainTasks} no-op tasks, its end not awaited before the next claim; ` +
    `median of ${calls.config.rounds} drains each, the order alternating:`,
    "",
    drains,
  ].join("\n");
}

/** Each region's generator: region name → the results it reads → its markdown. */
const REGIONS: Record<string, (results: Results) => string> = {
  engine: (r) => engineTables(r.engine),
  "engine-calls": (r) => engineCallsTable(r["engine-calls"]),
  clone: (r) => cloneTables(r.clone),
  render: (r) => renderTables(r.render),
  film: (r) => filmTables(r.film),
  "film-sizing": (r) => filmSizingTable(r.film),
  images: (r) => imagesTables(r.images),
};

/**
 * `markdown` with every `<!-- tables:begin NAME -->` … `<!-- tables:end NAME -->` region (each
 * marker a line of its own) replaced by what `results` generate for NAME. An unknown name or an
 * unclosed region throws.
 */
export function rewriteTables(markdown: string, results: Results): string {
  const pattern = /^<!-- tables:begin ([\w-]+) -->\n[\s\S]*?^<!-- tables:end ([\w-]+) -->$/gm;
  const seen = new Set<string>();
  const out = markdown.replace(pattern, (_match, begin: string, end: string) => {
    if (begin !== end) throw new Error(`tables region "${begin}" is closed by "${end}"`);
    const generate = REGIONS[begin];
    if (!generate) {
      throw new Error(`no table generator named "${begin}" (known: ${Object.keys(REGIONS).join(", ")})`);
    }
    seen.add(begin);
    return `<!-- tables:begin ${begin} -->\n${generate(results)}\n<!-- tables:end ${begin} -->`;
  });
  const opened = [...markdown.matchAll(/^<!-- tables:begin ([\w-]+) -->$/gm)].map((m) => m[1]);
  const unclosed = opened.filter((name) => !seen.has(name));
  if (unclosed.length) throw new Error(`tables region(s) never closed: ${unclosed.join(", ")}`);
  return out;
}

/** bench/README.md as the committed results generate it. */
export function generatedBenchReadme(benchDir: string): { path: string; current: string; generated: string } {
  const path = join(benchDir, "README.md");
  const current = readFileSync(path, "utf8");
  return { path, current, generated: rewriteTables(current, readResults(benchDir)) };
}

if ((import.meta as { main?: boolean }).main) {
  const { path, current, generated } = generatedBenchReadme(resolve(import.meta.dirname!, ".."));
  if (generated === current) {
    console.log(`${path}: tables already match bench/results/*.json`);
  } else {
    writeFileSync(path, generated);
    console.log(`${path}: tables rewritten from bench/results/*.json`);
  }
}
