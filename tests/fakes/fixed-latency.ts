/**
 * Time-driven job phases for fakes: by default a job moves one scripted phase per poll (what
 * unit tests of the adapters want); with a fixed latency L it is in its earlier phases for L ms
 * from submission and in its last phase from then on, however often it is polled (what the film
 * tests and the benchmark want: a clip takes L, not N polls).
 */

export interface FakeJobClock {
  createdAt: number;
  polls: number;
}

/** A rule that scripts every job whose request matches, ahead of the one-shot script queue. */
export interface ScriptRule<Body, Script> {
  match: (body: Body) => boolean;
  script: Script;
}

export function currentPhase<T>(
  phases: readonly T[],
  job: FakeJobClock,
  latencyMs: number | null,
  now = Date.now(),
): T {
  const last = phases.length - 1;
  if (latencyMs === null) return phases[Math.min(job.polls++, last)];
  job.polls++;
  const elapsed = now - job.createdAt;
  if (last === 0 || elapsed >= latencyMs) return phases[last];
  return phases[Math.min(last - 1, Math.floor((elapsed / latencyMs) * last))];
}

/** The first matching rule's script, else the next queued one, else the default. */
export function nextScript<Body, Script>(
  rules: ScriptRule<Body, Script>[],
  queue: Script[],
  body: Body,
  fallback: Script,
): Script {
  return rules.find((rule) => rule.match(body))?.script ?? queue.shift() ?? fallback;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
