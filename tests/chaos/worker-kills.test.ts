import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  admin,
  connect,
  createUser,
  invoke,
  sleep,
  type Sql,
  type TestUser,
  waitForStatus,
} from "../support/stack.ts";

const UNITS = 600;
const KILLS = 50;

let sql: Sql;
let user: TestUser;

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
  // Short leases so each kill is noticed in seconds; fresh workers pick the setting up.
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: "2" } });
  await admin("workers/kill", { function: "engine-probe" });
});

afterAll(async () => {
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: null } });
  await admin("workers/kill", { function: "engine-probe" });
  await sql.end();
});

const appliedUnits = async (id: string) =>
  (await sql`select count(*)::int as n from public.probe_units where task_id = ${id}`)[0].n as number;

async function probeWorker() {
  const workers = (await admin("workers")).live as Array<{ function: string; pid: number }>;
  return workers.find((w) => w.function === "engine-probe") ?? null;
}

describe("random worker kills", () => {
  it(`a multi-slice task survives ${KILLS} kills by itself, applying every unit exactly once`, async () => {
    const start = await invoke("engine-probe", {
      action: "start",
      kind: "probe.append",
      payload: { units: UNITS, unitMs: 30, unitsPerSlice: 7 },
    }, { token: user.token });
    expect(start.status).toBe(202);
    const id = start.json.taskId as string;

    // Each worker dies after a random number of units (0-8) plus a random phase inside a unit,
    // so kills land before the claim, inside steps, between step and checkpoint, and in hand-offs.
    // That bounds progress per life, so the task is still running at the last kill.
    let kills = 0;
    while (kills < KILLS) {
      const worker = await probeWorker();
      if (!worker) {
        await sleep(20);
        continue;
      }
      const target = (await appliedUnits(id)) + Math.floor(Math.random() * 9);
      while ((await appliedUnits(id)) < target && (await probeWorker())?.pid === worker.pid) await sleep(10);
      await sleep(Math.random() * 40);
      const { killed } = await admin("workers/kill", { function: "engine-probe" }) as { killed: unknown[] };
      if (killed.length > 0) kills++;
      expect((await sql`select status from public.background_tasks where id = ${id}`)[0].status).not.toBe(
        "succeeded",
      );
    }

    // No manual step from here: the sweeper notices expired leases and rings again.
    const done = await waitForStatus(sql, id, ["succeeded", "failed", "cancelled"], 240_000);
    expect(done.last_error).toBeNull();
    expect(done.status).toBe("succeeded");

    const units =
      await sql`select unit, count(*)::int as n from public.probe_units where task_id = ${id} group by unit order by unit`;
    expect(units).toHaveLength(UNITS);
    expect(units.every((u, i) => u.unit === i && u.n === 1)).toBe(true);

    // A step body that started after its result was recorded would be a re-run of a recorded step.
    const reruns = await sql`
      select s.name from public.background_task_steps s
        join public.probe_attempts a on a.task_id = s.task_id and s.name = 'unit-' || a.unit
       where s.task_id = ${id} and a.started_at > s.completed_at`;
    expect(reruns).toHaveLength(0);

    // Kills really interrupted steps midway (those were re-run, as they must be).
    const [{ attempts }] =
      await sql`select count(*)::int as attempts from public.probe_attempts where task_id = ${id}`;
    expect(attempts).toBeGreaterThan(UNITS);
    expect(Number(done.fencing_token)).toBeGreaterThan(KILLS);
  }, 600_000);
});
