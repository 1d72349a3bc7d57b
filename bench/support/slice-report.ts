/**
 * Which limit sliced a benchmark's work: slices ended by their wall-clock budget, by their CPU
 * budget, finished (and the other reasons in engine.slice_ends), and the function workers the
 * gateway ended meanwhile, by reason (GET /_stack/workers: wall_clock, cpu_soft, cpu_hard, memory,
 * idle, crash, killed). Every benchmark reports this block, printed and in its JSON.
 */
import type postgres from "postgres";
import type { BenchEnv } from "./stack-env.ts";

export const SLICE_END_REASONS = [
  "wall_budget",
  "cpu_budget",
  "finished",
  "waiting",
  "yielded",
  "failed",
  "fenced_out",
] as const;
export const WORKER_EXIT_REASONS = [
  "wall_clock",
  "cpu_soft",
  "cpu_hard",
  "memory",
  "idle",
  "crash",
  "killed",
] as const;

type Counts = Record<string, number>;

export interface SliceReport {
  /** Slices of Edge Function tasks that ended during the run, by reason (every reason listed);
   * null on a database without engine.slice_ends (BENCH_DB_URL at one not migrated this far). */
  slicesEnded: Counts | null;
  slicesEndedByFunction: Record<string, Counts> | null;
  /** Function workers the gateway ended during the run, by reason; null without a gateway. */
  workerExits: Counts | null;
  workerExitsByFunction: Record<string, Counts> | null;
  measured: string;
}

interface Exit {
  function: string;
  pid: number;
  exitedAt: string;
  reason: string;
}

const MEASURED =
  "slices: rows of engine.slice_ends with ended_at in the run (one per slice, why it ended); " +
  "worker exits: GET /_stack/workers exits with exitedAt in the run, polled every 2 s (its list keeps the last 200)";

/**
 * Starts watching; `stop()` returns what happened since. The gateway's exit list is bounded, so
 * it is polled throughout and exits are kept by worker (pid + exit time), none counted twice.
 */
export async function watchSlices(sql: postgres.Sql, env: BenchEnv, pollMs = 2_000) {
  const [{ since }] = await sql`select now() as since`;
  const sinceIso = new Date().toISOString();
  const exits = new Map<string, Exit>();
  const gateway = env.API_URL && env.SERVICE_ROLE_KEY
    ? { url: env.API_URL, key: env.SERVICE_ROLE_KEY }
    : null;
  let failure: string | null = null;

  async function pollExits(): Promise<void> {
    if (!gateway) return;
    try {
      const response = await fetch(`${gateway.url}/_stack/workers`, {
        headers: { authorization: `Bearer ${gateway.key}` },
      });
      if (!response.ok) throw new Error(`/_stack/workers answered ${response.status}`);
      const body = await response.json() as { exits: Exit[] };
      for (const exit of body.exits) {
        if (exit.exitedAt >= sinceIso) exits.set(`${exit.pid}@${exit.exitedAt}`, exit);
      }
    } catch (error) {
      failure = String(error);
    }
  }

  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      await pollExits();
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  })();

  return {
    async stop(): Promise<SliceReport> {
      stopped = true;
      await polling;
      await pollExits();
      if (failure) console.error(`slice report: worker exits may be incomplete: ${failure}`);
      const rows = await sql`select to_regclass('engine.slice_ends') is not null as present`.then((
        [{ present }],
      ) =>
        present
          ? sql`select function_name, reason, count(*)::int as n from engine.slice_ends
                 where ended_at >= ${since} group by function_name, reason order by function_name, reason`
          : null
      );
      let slicesEnded: Counts | null = null;
      let slicesEndedByFunction: Record<string, Counts> | null = null;
      if (rows) {
        slicesEnded = zeros(SLICE_END_REASONS);
        slicesEndedByFunction = {};
        for (const { function_name: functionName, reason, n } of rows) {
          slicesEnded[reason] = (slicesEnded[reason] ?? 0) + n;
          (slicesEndedByFunction[functionName] ??= {})[reason] = n;
        }
      }
      let workerExits: Counts | null = null;
      let workerExitsByFunction: Record<string, Counts> | null = null;
      if (gateway) {
        workerExits = zeros(WORKER_EXIT_REASONS);
        workerExitsByFunction = {};
        for (const exit of exits.values()) {
          workerExits[exit.reason] = (workerExits[exit.reason] ?? 0) + 1;
          const fn = (workerExitsByFunction[exit.function] ??= {});
          fn[exit.reason] = (fn[exit.reason] ?? 0) + 1;
        }
      }
      return { slicesEnded, slicesEndedByFunction, workerExits, workerExitsByFunction, measured: MEASURED };
    },
  };
}

/** Two lines for a benchmark's printout. */
export function formatSliceReport(report: SliceReport, label = "run"): string {
  const list = (counts: Counts) => Object.entries(counts).map(([reason, n]) => `${reason} ${n}`).join(", ");
  const slices = report.slicesEnded === null
    ? "n/a (no engine.slice_ends in this database)"
    : list(report.slicesEnded);
  const exits = report.workerExits === null ? "n/a (no gateway)" : list(report.workerExits);
  return `slices ended (${label}): ${slices}\nworker exits (${label}): ${exits}`;
}

function zeros(reasons: readonly string[]): Counts {
  return Object.fromEntries(reasons.map((reason) => [reason, 0]));
}
