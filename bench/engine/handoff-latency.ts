/**
 * Hand-off latency through the real stack: a probe.append task of one unit per slice, where every
 * slice hands off to the next through pg_net -> gateway -> engine-probe. The probe records, per
 * slice, when the previous slice handed off (just before hand_off_task commits) and when this slice
 * started; the difference is commit + doorbell + HTTP + claim.
 */
import type { Sql } from "postgres";
import { signJwt } from "../../scripts/stack/jwt.ts";
import { percentile } from "../support/stats.ts";

export interface HandoffRun {
  taskId: string;
  /** Slice starts that followed a hand-off: units - 1, unless a slice ran more than once. */
  handOffs: number;
  p50: number;
  p95: number;
  max: number;
  /** Every hand-off of the task, in ms. */
  latencies: number[];
}

const PROBE_SCHEMA = new URL("../../tests/fixtures/probe-schema.sql", import.meta.url);

export async function applyProbeSchema(sql: Sql): Promise<void> {
  await sql.unsafe(await Deno.readTextFile(PROBE_SCHEMA));
}

async function startProbeTask(apiUrl: string, token: string, units: number): Promise<string> {
  const response = await fetch(`${apiUrl}/functions/v1/engine-probe`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ action: "start", kind: "probe.append", payload: { units, unitsPerSlice: 1 } }),
  });
  const body = await response.text();
  if (response.status !== 202) throw new Error(`engine-probe start answered ${response.status}: ${body}`);
  return JSON.parse(body).taskId;
}

async function waitForSuccess(sql: Sql, taskId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [task] = await sql`select status, last_error from public.background_tasks where id = ${taskId}`;
    if (task?.status === "succeeded") return;
    if (task && ["failed", "cancelled"].includes(task.status)) {
      throw new Error(`probe task ${taskId} ended ${task.status}: ${JSON.stringify(task.last_error)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`probe task ${taskId} still ${task?.status} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function measureHandoff(
  sql: Sql,
  env: { apiUrl: string; jwtSecret: string; userId: string },
  units: number,
): Promise<HandoffRun> {
  const token = await signJwt(
    // A legacy HS256 token (the stack's functions keep the legacy secret); iss as Auth sets it.
    {
      sub: env.userId,
      role: "authenticated",
      aud: "authenticated",
      iss: `${env.apiUrl}/auth/v1`,
      exp: Math.floor(Date.now() / 1000) + 600,
    },
    env.jwtSecret,
  );
  const taskId = await startProbeTask(env.apiUrl, token, units);
  await waitForSuccess(sql, taskId, 60_000 + units * 2_000);
  const rows = await sql`
    select extract(epoch from started_at - handoff_at) * 1000 as ms
      from public.probe_slices where task_id = ${taskId} order by started_at`;
  const latencies = rows.map((row) => Number(row.ms));
  return {
    taskId,
    handOffs: latencies.length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    max: Math.max(...latencies),
    latencies,
  };
}

export async function deleteProbeRows(sql: Sql, taskIds: string[]): Promise<void> {
  for (const table of ["probe_slices", "probe_units", "probe_attempts"]) {
    await sql`delete from ${sql("public." + table)} where task_id = any(${taskIds}::uuid[])`;
  }
}
