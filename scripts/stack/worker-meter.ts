/**
 * Measures a worker process from outside, through procfs, the way edge-runtime's supervisor
 * watches an isolate: CPU time of the thread that runs the function's JavaScript (Deno's main
 * thread, as edge-runtime's CPU timer is a CLOCK_THREAD_CPUTIME_ID timer on the worker's thread;
 * V8's GC and compiler helper threads are not counted there either), and resident memory.
 */
import { readFileSync } from "node:fs";

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every platform Linux supports.
const MS_PER_TICK = 10;
const PAGE_BYTES = 4096;

export interface ProcessSample {
  /** user + system CPU of the main thread, in ms (10 ms resolution). */
  cpuMs: number;
  /** Resident set size of the whole process, in MB. */
  rssMb: number;
}

/** One procfs reading of `pid`, or null once the process is gone. */
export function sampleProcess(pid: number): ProcessSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuMs = (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
    const rssPages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return { cpuMs, rssMb: (rssPages * PAGE_BYTES) / (1024 * 1024) };
  } catch {
    return null;
  }
}

export type MeterLimit = "cpu_soft" | "cpu_hard" | "memory";

export interface MeterOptions {
  pid: number;
  cpuSoftLimitMs: number;
  cpuHardLimitMs: number;
  memoryLimitMb: number;
  /** Called once for cpu_soft, and once for the first of cpu_hard / memory. */
  onLimit: (limit: MeterLimit) => void;
  everyMs?: number;
}

/** Live readings of a metered worker. */
export interface WorkerMeter {
  /** CPU spent since the meter started (the worker began serving), in ms. */
  cpuMs(): number;
  peakRssMb(): number;
  stop(): void;
}

/**
 * Samples every `everyMs` (50 ms default: a busy loop overshoots a limit by at most that much,
 * far less than the 1 s between the soft and hard limits). CPU counts from the meter's start,
 * which the worker pool sets at the moment the worker listens: Deno transpiles TypeScript at
 * boot, which edge-runtime does not (it loads a prebuilt eszip), so boot CPU is not charged.
 */
export function startWorkerMeter(options: MeterOptions): WorkerMeter {
  const baseline = sampleProcess(options.pid)?.cpuMs ?? 0;
  let cpuMs = 0;
  let peakRssMb = 0;
  let softFired = false;
  let hardFired = false;

  const timer = setInterval(() => {
    const sample = sampleProcess(options.pid);
    if (!sample) return stop();
    cpuMs = sample.cpuMs - baseline;
    peakRssMb = Math.max(peakRssMb, sample.rssMb);
    if (hardFired) return;
    if (sample.rssMb >= options.memoryLimitMb) {
      hardFired = true;
      return options.onLimit("memory");
    }
    if (cpuMs >= options.cpuHardLimitMs) {
      hardFired = true;
      return options.onLimit("cpu_hard");
    }
    if (cpuMs >= options.cpuSoftLimitMs && !softFired) {
      softFired = true;
      options.onLimit("cpu_soft");
    }
  }, options.everyMs ?? 50);

  function stop(): void {
    clearInterval(timer);
  }

  return { cpuMs: () => cpuMs, peakRssMb: () => peakRssMb, stop };
}
