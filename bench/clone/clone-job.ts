/**
 * One clone through the local gateway, as a user would run it: POST start to clone-database, then
 * watch its background_tasks row until it ends. The watch records when each phase completed and
 * when each slice claimed the task, which is all the timing the job itself keeps.
 */
import type { Sql } from "postgres";
import { signJwt } from "../../scripts/stack/jwt.ts";

export const CLONE_FUNCTION = "clone-database";
const POLL_MS = 100;

export interface CloneJobRun {
  jobId: string;
  /** From sending start to seeing the job succeeded (at most POLL_MS late). */
  seconds: number;
  /** The start request alone: it reads the source's catalogs to refuse a non-empty target. */
  startRequestMs: number;
  /** created_at to finished_at of the row: the job without the start request and the poll. */
  jobSeconds: number;
  /** Claims of the task: one per slice, plus one per re-drive after a kill. */
  claims: number;
  /** Ms from the start request to each claim (as first seen by the poll). */
  claimAtMs: number[];
  /** Seconds spent until each phase completed, counted from the previous one (dispatch: until the first claim). */
  phases: { phase: string; seconds: number }[];
  rowsCopied: number;
  /** Time a chunk copy was in flight in any lane (checkpoint.copyMs), against the data phase's wall time. */
  copySeconds: number;
  /** Worker CPU inside the chunk copies (checkpoint.copyCpuMs), when the job records it. */
  copyCpuSeconds: number | null;
  /** Largest chunk the adaptive sizing chose, in rows. */
  maxChunkRows: number;
  result: unknown;
}

interface Observed {
  status: string;
  last_error: unknown;
  fencing_token: string;
  checkpoint: {
    phase: string;
    completedPhases: string[];
    rowsPerTable: Record<string, number>;
    copyMs: number;
    copyCpuMs?: number;
    chunkRows: number;
  } | null;
  job_seconds: number | null;
  result: unknown;
}

/**
 * A legacy HS256 access token for an operator (clone-database admits operators only): the stack's
 * functions accept HS256 tokens signed with its legacy secret, as a migrated project does.
 */
export async function userToken(userId: string, jwtSecret: string, apiUrl: string): Promise<string> {
  return await signJwt({
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    iss: `${apiUrl}/auth/v1`,
    app_metadata: { reelforge_role: "operator" },
    exp: Math.floor(Date.now() / 1000) + 3600,
  }, jwtSecret);
}

/** What the watcher shows the rest of the benchmark while a job runs (to note what a kill interrupted). */
export interface JobProgress {
  status: string | null;
  phase: string | null;
  rowsCopied: number;
  /** The task's fencing token: it moves on at every claim. */
  claims: number;
}

export async function runCloneJob(
  sql: Sql,
  options: {
    apiUrl: string;
    token: string;
    targetUrl: string;
    schema: string;
    /** performance.now() the run's times count from; now by default. */
    startedAt?: number;
    /** Kept up to date while the job runs. */
    progress?: JobProgress;
  },
): Promise<CloneJobRun> {
  const started = options.startedAt ?? performance.now();
  const since = () => performance.now() - started;
  const response = await fetch(`${options.apiUrl}/functions/v1/${CLONE_FUNCTION}`, {
    method: "POST",
    headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
    body: JSON.stringify({
      action: "start",
      targetUrl: options.targetUrl,
      options: { schemas: [options.schema] },
    }),
  });
  const body = await response.text();
  if (response.status !== 202) throw new Error(`clone-database start answered ${response.status}: ${body}`);
  const startRequestMs = since();
  const jobId = JSON.parse(body).jobId as string;

  const completedAt = new Map<string, number>();
  const claimAtMs: number[] = [];
  let lastToken = "0";
  let maxChunkRows = 0;
  for (;;) {
    const [row] = await sql<Observed[]>`
      select status, last_error, fencing_token::text, metadata->'clone'->'checkpoint' as checkpoint, result,
             extract(epoch from finished_at - created_at)::float8 as job_seconds
        from public.background_tasks where id = ${jobId}`;
    const now = since();
    if (!row) throw new Error(`clone job ${jobId} disappeared`);
    if (row.fencing_token !== lastToken) {
      lastToken = row.fencing_token;
      claimAtMs.push(now);
    }
    const checkpoint = row.checkpoint;
    for (const phase of checkpoint?.completedPhases ?? []) {
      if (!completedAt.has(phase)) completedAt.set(phase, now);
    }
    maxChunkRows = Math.max(maxChunkRows, checkpoint?.chunkRows ?? 0);
    const rowsCopied = Object.values(checkpoint?.rowsPerTable ?? {}).reduce((a, b) => a + b, 0);
    if (options.progress) {
      Object.assign(options.progress, {
        status: row.status,
        phase: checkpoint?.phase ?? null,
        rowsCopied,
        claims: Number(row.fencing_token),
      });
    }

    if (row.status === "failed" || row.status === "cancelled") {
      throw new Error(
        `clone job ${jobId} ended ${row.status} in phase ${checkpoint?.phase}: ${
          JSON.stringify(row.last_error)
        }`,
      );
    }
    if (row.status === "succeeded") {
      const phases = [{ phase: "dispatch", seconds: (claimAtMs[0] ?? now) / 1000 - startRequestMs / 1000 }];
      let previous = claimAtMs[0] ?? now;
      for (const [phase, at] of [...completedAt].sort((a, b) => a[1] - b[1])) {
        phases.push({ phase, seconds: (at - previous) / 1000 });
        previous = at;
      }
      phases.push({ phase: "finish", seconds: (now - previous) / 1000 });
      return {
        jobId,
        seconds: now / 1000,
        startRequestMs,
        jobSeconds: row.job_seconds ?? NaN,
        claims: Number(row.fencing_token),
        claimAtMs,
        phases,
        rowsCopied,
        copySeconds: (checkpoint?.copyMs ?? 0) / 1000,
        copyCpuSeconds: typeof checkpoint?.copyCpuMs === "number" ? checkpoint.copyCpuMs / 1000 : null,
        maxChunkRows,
        result: row.result,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
