/**
 * Samples the resident memory of a function's worker processes while a job runs. VmHWM is the
 * kernel's own high-water mark for the process, so a spike between two samples still counts;
 * only the last interval before a kill can be missed.
 */
import type { StackAdmin } from "./stack-admin.ts";

export interface RssReport {
  /** Highest VmHWM of any worker process seen, in MiB. */
  peakMiB: number | null;
  /** Pid of the worker that peaked. */
  peakPid: number | null;
  workersSeen: number;
  samples: number;
  intervalMs: number;
  /** Per worker: its peak and its last reading, in MiB. */
  workers: { pid: number; startedAt: string; peakMiB: number; lastRssMiB: number }[];
  /** Highest VmRSS sampled while the job was in each phase, in MiB: where the memory goes. */
  sampledPeakByPhaseMiB: Record<string, number>;
}

async function readStatusKiB(pid: number): Promise<{ rss: number; hwm: number } | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const field = (name: string) =>
      Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
    const rss = field("VmRSS");
    const hwm = field("VmHWM");
    return Number.isFinite(rss) && Number.isFinite(hwm) ? { rss, hwm } : null;
  } catch {
    return null; // exited between the listing and the read
  }
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/** Starts sampling at once; `stop()` ends it and returns what it saw. `phase()` names what the job is doing. */
export function sampleWorkerRss(admin: StackAdmin, fn: string, phase: () => string | null, intervalMs = 150) {
  const seen = new Map<number, { startedAt: string; hwm: number; rss: number }>();
  const byPhase: Record<string, number> = {};
  let samples = 0;
  let running = true;
  let failure: Error | null = null;

  const loop = (async () => {
    while (running) {
      const tick = performance.now();
      try {
        const workers = (await admin.workers()).filter((worker) => worker.function === fn);
        for (const worker of workers) {
          const reading = await readStatusKiB(worker.pid);
          if (!reading) continue;
          const label = phase() ?? "before the first checkpoint";
          byPhase[label] = Math.max(byPhase[label] ?? 0, mib(reading.rss));
          const known = seen.get(worker.pid);
          seen.set(worker.pid, {
            startedAt: worker.startedAt,
            hwm: Math.max(known?.hwm ?? 0, reading.hwm),
            rss: reading.rss,
          });
        }
        samples++;
      } catch (error) {
        failure = error as Error;
        return;
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, intervalMs - (performance.now() - tick)))
      );
    }
  })();

  return {
    async stop(): Promise<RssReport> {
      running = false;
      await loop;
      if (failure) throw new Error(`sampling ${fn} workers failed: ${(failure as Error).message}`);
      const workers = [...seen].map(([pid, w]) => ({
        pid,
        startedAt: w.startedAt,
        peakMiB: mib(w.hwm),
        lastRssMiB: mib(w.rss),
      }));
      const peak = workers.reduce<typeof workers[number] | null>(
        (best, w) => (!best || w.peakMiB > best.peakMiB ? w : best),
        null,
      );
      return {
        peakMiB: peak?.peakMiB ?? null,
        peakPid: peak?.pid ?? null,
        workersSeen: workers.length,
        samples,
        intervalMs,
        workers,
        sampledPeakByPhaseMiB: byPhase,
      };
    },
  };
}
