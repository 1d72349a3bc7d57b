/**
 * Who owns a clone job. An operator user owns the jobs they start; a service-role call has no user
 * behind it, so its job has no owner (user_id null, allowed for clone jobs only) and any operator
 * manages it. The gateway does not let service-role calls reach function actions yet, so the
 * service-role start runs the actions directly, over the stack's real database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Caller, SERVICE_ROLE_USER_ID } from "../../shared/auth/caller.ts";
import { cloneActions } from "../../shared/clone/clone-actions.ts";
import { createSecretBox } from "../../shared/crypto/secret-box.ts";
import { createTaskStore } from "../../shared/engine/task-store.ts";
import { lookupAllAddresses } from "../../shared/net/dns-lookup.ts";
import { createOutboundGuard } from "../../shared/net/outbound-guard.ts";
import { createTargetDatabase } from "../support/clone-db.ts";
import {
  asUser,
  connect,
  createOperatorUser,
  createUser,
  invoke,
  type Sql,
  stackEnv,
  type TestUser,
} from "../support/stack.ts";

let sql: Sql;
let operator: TestUser;
let user: TestUser;
let target: Awaited<ReturnType<typeof createTargetDatabase>>;
const SCHEMA = "clone_ops_source";

const serviceRole: Caller = {
  userId: SERVICE_ROLE_USER_ID,
  role: "service_role",
  isAnonymous: false,
  isServiceRole: true,
  isOperator: true,
};

beforeAll(async () => {
  sql = connect(2);
  operator = await createOperatorUser();
  user = await createUser(sql);
  target = await createTargetDatabase("clone_ops");
  await sql.unsafe(
    `create schema if not exists ${SCHEMA}; create table if not exists ${SCHEMA}.notes (id int primary key, body text)`,
  );
});

afterAll(async () => {
  await target.drop();
  await sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await sql.end();
});

describe("clone job owners", () => {
  it("gives a service-role clone no owner, and lets any operator follow and cancel it; users never see it", async () => {
    const actions = cloneActions({
      store: createTaskStore(sql),
      sql,
      sourceUrl: stackEnv().DB_URL,
      // Not the stack's key: the function cannot open this job's target, so it only retries until cancelled.
      secrets: createSecretBox("a-test-key-that-is-not-the-stacks-own-key"),
      targets: {
        guard: createOutboundGuard({ allowPrivate: true, resolve: lookupAllAddresses }),
        allowedPorts: [Number(new URL(target.url).port)],
      },
    });
    const started = await actions.start.run(
      actions.start.input.parse({
        targetUrl: target.url,
        options: { schemas: [SCHEMA], includeData: false },
      }),
      serviceRole,
    );
    expect(started.status).toBe(202);
    const jobId = (started.body as { jobId: string }).jobId;
    const [row] = await sql`select user_id, kind from public.background_tasks where id = ${jobId}`;
    expect(row).toEqual({ user_id: null, kind: "clone.database" });

    const status = await invoke("clone-database", { action: "status", jobId }, { token: operator.token });
    expect(status.status).toBe(200);
    expect(status.json.job.jobId).toBe(jobId);
    expect(
      (await invoke("clone-database", { action: "status", jobId }, { token: user.token })).json.error.code,
    ).toBe("operator_only");
    expect(await asUser(sql, user.id, (tx) => tx`select id from public.background_tasks where id = ${jobId}`))
      .toEqual([]);

    const cancelled = await invoke("clone-database", { action: "cancel", jobId }, { token: operator.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.job.status).toBe("cancelled");
  });

  it("records an operator user as the owner of the jobs they start", async () => {
    // The same target: the service-role job above could not open its sealed target, so it created nothing there.
    const start = await invoke("clone-database", {
      action: "start",
      targetUrl: target.url,
      options: { schemas: [SCHEMA], includeData: false },
    }, { token: operator.token });
    expect(start.status).toBe(202);
    const [row] = await sql`select user_id from public.background_tasks where id = ${start.json.jobId}`;
    expect(row.user_id).toBe(operator.id);
    await invoke("clone-database", { action: "cancel", jobId: start.json.jobId }, { token: operator.token });
  });

  it("allows no owner for any other kind of task", async () => {
    await expect(sql`select engine.enqueue_task(null, 'film.produce', 'produce-movie', p_dispatch => false)`)
      .rejects.toMatchObject({ constraint_name: "background_tasks_owner_required" });
  });
});
