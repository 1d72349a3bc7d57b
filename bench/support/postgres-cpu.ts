/**
 * CPU time the local stack's Postgres has used, in ms, read from /proc: the postmaster's live
 * children (every backend and background worker) and the children it has already reaped. Read
 * before and after a timed window, with the benchmark's connections open throughout, the
 * difference is what the database spent in that window: mostly the benchmark's connections, plus
 * the stack's own background work (the sweeper, idle worker polls), the same for every side.
 * Null when the database is not the local stack's (BENCH_DB_URL) or /proc is not readable.
 */
import { join } from "node:path";

/** USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 10 ms on Linux. */
const MS_PER_TICK = 10;

/** utime + stime (+ cutime + cstime), stat fields 14-17, counted after the ")" that ends the name. */
function ticks(pid: string | number, withReaped: boolean): { parent: number; ticks: number } {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  const own = Number(fields[11]) + Number(fields[12]);
  return {
    parent: Number(fields[1]),
    ticks: withReaped ? own + Number(fields[13]) + Number(fields[14]) : own,
  };
}

/** Reads the database's CPU time so far, in ms. */
export type CpuReader = () => number;

/** Starts a timed window: the function returned gives the database CPU ms since, null without a reader. */
export function cpuWindow(cpu: CpuReader | null): () => number | null {
  const before = cpu?.();
  return () => (cpu && before !== undefined ? cpu() - before : null);
}

export function postgresCpuReader(pgData: string | null): CpuReader | null {
  if (!pgData) return null;
  let postmaster: number;
  try {
    postmaster = Number(Deno.readTextFileSync(join(pgData, "postmaster.pid")).split("\n")[0]);
    ticks(postmaster, true);
  } catch {
    return null;
  }
  return () => {
    let total = ticks(postmaster, true).ticks;
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const child = ticks(entry.name, false);
        if (child.parent === postmaster) total += child.ticks;
      } catch {
        // Exited between the listing and the read: the postmaster's reaped total has it now.
      }
    }
    return total * MS_PER_TICK;
  };
}
