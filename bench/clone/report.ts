/** The clone benchmark's result (written as bench/results/clone.json) and its markdown rendering. */
import type { MachineInfo } from "../support/machine-info.ts";
import { markdownTable } from "../support/markdown-table.ts";
import { formatSliceReport, type SliceReport } from "../support/slice-report.ts";
import { median, round } from "../support/stats.ts";
import type { CloneJobRun } from "./clone-job.ts";
import type { Dataset } from "./dataset.ts";
import type { KillRecord } from "./kill-schedule.ts";
import type { ToolCpu } from "./run-tool.ts";
import type { WorkerCpu } from "./worker-cpu.ts";
import type { RssReport } from "./worker-rss.ts";

interface ToolSummary {
  runsSeconds: number[];
  medianSeconds: number;
  /** 10^6 bytes of source tables per second of the median run. */
  mbPerSecond: number;
  /** pg_dump | psql's median seconds over this tool's: above 1 is faster. */
  ratioToPgDump: number;
  /** CPU seconds (user + system) of the tool's own processes per run, the function workers' for the clone. */
  runsCpuSeconds: number[];
  medianCpuSeconds: number;
  /** Median CPU seconds per 10^9 bytes of source tables. */
  cpuSecondsPerGB: number;
}

/** The phases the issue asks to time, in seconds of the run (null when the run had none). */
export const TIMED_PHASES = ["data", "post_data", "verify"] as const;

export type CloneRunSummary = ReturnType<typeof summariseCloneRun>;

export interface CloneBenchResult {
  benchmark: "clone";
  machine: MachineInfo;
  code: { commit: string; uncommitted: string[] };
  config: Record<string, unknown> & {
    repeats: number;
    workerWallClockMs: number;
    killAt: number[];
    killLeaseSeconds: number;
  };
  dataset: Dataset;
  aim: {
    minRatioToPgDump: number;
    minRatioToPgcopydb: number;
    maxWorkerPeakMiB: number;
    maxKillOverheadPercent: number;
  };
  tools: {
    cloneDatabase: ToolSummary & {
      /** pgcopydb's median seconds over the clone's; null without pgcopydb. */
      ratioToPgcopydb: number | null;
      peakWorkerRssMiB: number;
      runsPeakWorkerRssMiB: (number | null)[];
      medianRun: CloneRunSummary;
    };
    pgDumpPsql: ToolSummary & { targetBytes: number };
    pgcopydb:
      | ToolSummary & {
        version: string;
        parallelism: Record<string, number | null>;
        args: string[];
        targetBytes: number;
      }
      | { unavailable: string };
  };
  kills: CloneRunSummary & {
    kills: KillRecord[];
    recoverySeconds: number[];
    extraSecondsOverMedian: number;
    extraPercent: number;
  };
  aimsMet: {
    throughput: boolean;
    /** null without pgcopydb. */
    vsPgcopydb: boolean | null;
    workerPeakRss: boolean;
    killOverhead: boolean;
  };
  /** The whole benchmark run's slices and worker exits (each clone-database run has its own). */
  slices: SliceReport;
}

/** One clone-database run as recorded: timing, phases, slices, memory. */
export function summariseCloneRun(
  measured: { run: CloneJobRun; memory: RssReport; targetBytes: number; slices: SliceReport; cpu: WorkerCpu },
  bytes: number,
) {
  const { run, memory, targetBytes, slices, cpu } = measured;
  const dataPhase = run.phases.find((p) => p.phase === "data");
  const phaseSeconds = Object.fromEntries(
    TIMED_PHASES.map((name) => {
      const phase = run.phases.find((p) => p.phase === name);
      return [name, phase ? round(phase.seconds, 2) : null];
    }),
  ) as Record<typeof TIMED_PHASES[number], number | null>;
  return {
    seconds: round(run.seconds, 2),
    mbPerSecond: round(bytes / 1e6 / run.seconds, 2),
    jobId: run.jobId,
    startRequestMs: round(run.startRequestMs),
    jobSeconds: round(run.jobSeconds, 2),
    claims: run.claims,
    workerProcesses: memory.workersSeen,
    phases: run.phases.map((p) => ({
      phase: p.phase,
      seconds: round(p.seconds, 2),
      share: round(p.seconds / run.seconds, 3),
    })),
    phaseSeconds,
    rowsCopied: run.rowsCopied,
    workerCpu: {
      ...cpu,
      seconds: round(cpu.seconds, 2),
      secondsPerGB: round(cpu.seconds / (bytes / 1e9), 2),
      /** Inside the data phase's chunk copies, as the job records it (checkpoint.copyCpuMs); null when it does not. */
      copyCpuSeconds: run.copyCpuSeconds === null ? null : round(run.copyCpuSeconds, 2),
    },
    dataPhase: dataPhase && {
      seconds: round(dataPhase.seconds, 2),
      insideChunkCopiesSeconds: round(run.copySeconds, 2),
      mbPerSecond: round(bytes / 1e6 / dataPhase.seconds, 2),
      maxChunkRows: run.maxChunkRows,
    },
    targetBytes,
    memory,
    slices,
  };
}

const mib = (bytes: number) => round(bytes / 2 ** 20);

/** CPU figures of tool runs, for ToolSummary. */
export function cpuSummary(cpu: ToolCpu[] | number[], bytes: number) {
  const seconds = cpu.map((c) => (typeof c === "number" ? c : c.cpuSeconds));
  return {
    runsCpuSeconds: seconds.map((s) => round(s, 2)),
    medianCpuSeconds: round(median(seconds), 2),
    cpuSecondsPerGB: round(median(seconds) / (bytes / 1e9), 2),
  };
}
const yes = (met: boolean) => (met ? "yes" : "NO");

export function renderReport(result: CloneBenchResult): string {
  const { tools, kills, dataset, config, aim } = result;
  const clone = tools.cloneDatabase;
  const copydb = "unavailable" in tools.pgcopydb ? null : tools.pgcopydb;
  const run = clone.medianRun;
  const row = (name: string, tool: ToolSummary, peak: string) => [
    name,
    tool.medianSeconds,
    tool.runsSeconds.map((s) => round(s, 1)).join(", "),
    round(tool.mbPerSecond, 1),
    round(tool.ratioToPgDump, 2),
    `${tool.medianCpuSeconds} (${tool.cpuSecondsPerGB})`,
    peak,
  ];
  const rows = [
    row("clone-database (gateway, slices)", clone, `${clone.peakWorkerRssMiB} MiB`),
    row("pg_dump \\| psql", tools.pgDumpPsql, "-"),
    copydb
      ? row(
        `pgcopydb ${copydb.version} (${copydb.parallelism.copy} COPY + ${copydb.parallelism.createIndex} index jobs)`,
        copydb,
        "-",
      )
      : ["pgcopydb", "unavailable", "-", "-", "-", "-", "-"],
    [
      `clone-database, ${kills.kills.length} kills, lease ${config.killLeaseSeconds} s`,
      kills.seconds,
      "1 run",
      round(kills.mbPerSecond, 1),
      round(tools.pgDumpPsql.medianSeconds / kills.seconds, 2),
      `${kills.workerCpu.seconds} (${kills.workerCpu.secondsPerGB})`,
      `${kills.memory.peakMiB} MiB`,
    ],
  ];
  const recovery = kills.recoverySeconds;
  return [
    "",
    `## Clone of ${
      mib(dataset.bytes)
    } MiB (schema ${dataset.schema}, scale ${dataset.scale}) into an empty database, same cluster, median of ${config.repeats}`,
    "",
    markdownTable(
      ["tool", "wall s", "runs (s)", "MB/s", "vs pg_dump \\| psql", "CPU s (per GB)", "peak worker RSS"],
      rows,
    ),
    "",
    "CPU: user + system seconds of the tool's own processes (clone-database: its function workers, " +
    `${run.workerCpu.workers} in the median run), per 10^9 bytes of source tables; the database server's CPU is in none. ` +
    `Worker CPU inside the chunk copies (checkpoint.copyCpuMs): ${
      run.workerCpu.copyCpuSeconds === null ? "not recorded by this job" : `${run.workerCpu.copyCpuSeconds} s`
    }`,
    "",
    `kills: planned at ${
      config.killAt.map((f) => `${f * 100}%`).join(", ")
    } of the median clean run, each once the job is claimed again; ` +
    `landed at ${kills.kills.map((k) => `${round(k.atMs / 1000, 1)} s (${k.phase})`).join(", ")}; ` +
    `+${kills.extraSecondsOverMedian} s = ${kills.extraPercent}% over the median clean clone. ` +
    `Recovery per kill (kill -> next claim): median ${round(median(recovery), 1)} s [${
      recovery.map((s) => round(s, 1)).join(", ")
    }] ` +
    `with lease ${config.killLeaseSeconds} s + sweeper every 1 s + worker boot (the stack's default lease, 30 s, adds ~${
      30 - config.killLeaseSeconds
    } s per kill)`,
    copydb
      ? `pgcopydb: ${
        copydb.args.join(" ")
      }; its defaults: ${copydb.parallelism.copy} COPY, ${copydb.parallelism.createIndex} CREATE INDEX, ${copydb.parallelism.vacuum} VACUUM processes`
      : `pgcopydb unavailable: ${(tools.pgcopydb as { unavailable: string }).unavailable}`,
    `MB = 10^6 bytes of source tables (heap + TOAST + indexes); worker wall clock ${config.workerWallClockMs} ms; ` +
    `code ${result.code.commit.slice(0, 7)}${
      result.code.uncommitted.length ? ` + uncommitted: ${result.code.uncommitted.join(", ")}` : ""
    }`,
    "",
    `### clone-database phases (median clean run, ${run.seconds} s, ${run.claims} claim(s) over ${run.workerProcesses} worker process(es))`,
    "",
    markdownTable(
      ["phase", "s", "share"],
      run.phases.map((p) => [p.phase, p.seconds, `${round(p.share * 100)}%`]),
    ),
    "",
    run.dataPhase
      ? `data phase: ${run.dataPhase.seconds} s wall, ${run.dataPhase.insideChunkCopiesSeconds} s with a chunk copy in flight, ` +
        `${run.dataPhase.mbPerSecond} MB/s; largest chunk ${run.dataPhase.maxChunkRows} rows`
      : "",
    `phases: data ${run.phaseSeconds.data ?? "-"} s, post_data (keys, indexes, constraints) ${
      run.phaseSeconds.post_data ?? "-"
    } s, verify ${run.phaseSeconds.verify ?? "-"} s`,
    formatSliceReport(run.slices, "median clean run"),
    formatSliceReport(kills.slices, `${kills.kills.length} kills`),
    `worker RSS sampled per phase (MiB): ${
      Object.entries(run.memory.sampledPeakByPhaseMiB).map(([p, m]) => `${p} ${m}`).join(", ")
    }`,
    `target sizes (MiB): clone ${mib(run.targetBytes)}, pg_dump ${mib(tools.pgDumpPsql.targetBytes)}` +
    (copydb ? `, pgcopydb ${mib(copydb.targetBytes)}` : ""),
    "",
    `aims: throughput >= pg_dump|psql: ${yes(result.aimsMet.throughput)} (${clone.ratioToPgDump}x); ` +
    `>= ${aim.minRatioToPgcopydb}x pgcopydb: ${
      result.aimsMet.vsPgcopydb === null ? "n/a" : yes(result.aimsMet.vsPgcopydb)
    } (${clone.ratioToPgcopydb ?? "-"}x); ` +
    `worker peak RSS < ${aim.maxWorkerPeakMiB} MiB: ${yes(result.aimsMet.workerPeakRss)} ` +
    `(${Math.max(clone.peakWorkerRssMiB, kills.memory.peakMiB ?? 0)} MiB); ` +
    `5 kills < ${aim.maxKillOverheadPercent}% extra: ${
      yes(result.aimsMet.killOverhead)
    } (${kills.extraPercent}%)`,
  ].join("\n");
}
