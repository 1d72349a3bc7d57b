/**
 * Samples the memory of a worker process and of its children (the FFmpeg it spawns) from /proc.
 * VmHWM is the kernel's high-water mark, so a spike between samples still counts for a process
 * that is alive at the next sample; a child that peaks and exits between samples can be missed.
 */
export interface RssPeaks {
  /** The worker process itself (Deno), MiB. */
  workerPeakMiB: number;
  /** The largest FFmpeg/ffprobe child, MiB. */
  childPeakMiB: number;
  /** Worker + children at the same sample (VmRSS), MiB. */
  combinedPeakMiB: number;
  samples: number;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

function readKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry.name));
    } catch {
      // exited while listing
    }
  }
  return children;
}

export function sampleProcessRss(pid: number, intervalMs = 100) {
  const peaks = { worker: 0, child: 0, combined: 0, samples: 0 };
  const timer = setInterval(() => {
    const children = childrenOf(pid);
    peaks.worker = Math.max(peaks.worker, readKiB(pid, "VmHWM"));
    for (const child of children) peaks.child = Math.max(peaks.child, readKiB(child, "VmHWM"));
    peaks.combined = Math.max(
      peaks.combined,
      readKiB(pid, "VmRSS") + children.reduce((sum, c) => sum + readKiB(c, "VmRSS"), 0),
    );
    peaks.samples++;
  }, intervalMs);
  return {
    stop(): RssPeaks {
      clearInterval(timer);
      return {
        workerPeakMiB: mib(peaks.worker),
        childPeakMiB: mib(peaks.child),
        combinedPeakMiB: mib(peaks.combined),
        samples: peaks.samples,
      };
    },
  };
}
