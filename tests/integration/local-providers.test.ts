import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderInputError } from "../../shared/providers/provider-errors.ts";
import { buildProviders } from "../../shared/providers/registry/build-providers.ts";
import { localFallback, type ResolvedProviders } from "../../shared/providers/registry/resolve-providers.ts";
import { PROVIDER_TYPES } from "../../shared/providers/types.ts";
import { connect, createUser, type Sql, taskRow, type TestUser } from "../support/stack.ts";
import { stackStorage } from "../support/stack-storage.ts";

let sql: Sql;
let user: TestUser;
const allLocal = Object.fromEntries(PROVIDER_TYPES.map((t) => [t, localFallback(t)])) as ResolvedProviders;
const storage = stackStorage();

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
});
afterAll(() => sql.end());

describe("local providers through the task engine", () => {
  it("submit a local_media job owned by the user, with a per-user deterministic output path", async () => {
    const { video } = buildProviders(allLocal, { sql, userId: user.id, storage });
    const request = { promptText: "Ada crosses the harbour", ratio: "1280:720", durationSeconds: 5 };
    const jobId = await video.submit(request);
    const row = await taskRow(sql, jobId);
    expect(row).toMatchObject({ kind: "local_media", function_name: null, user_id: user.id });
    // The stack's render worker is woken by NOTIFY and may have claimed it already.
    expect(["queued", "running"]).toContain(row.status);
    expect(row.payload).toMatchObject({
      op: "video",
      width: 1280,
      height: 720,
      durationSeconds: 5,
      imageUrl: null,
    });
    expect(row.payload.output.path).toMatch(new RegExp(`^local/${user.id}/video/[0-9a-f]{32}\\.mp4$`));
    const again = await taskRow(sql, await video.submit(request));
    expect(again.payload.output).toEqual(row.payload.output);

    expect(["pending", "running", "succeeded"]).toContain((await video.poll(jobId)).state);
    await video.cancel(jobId);
    await video.cancel(again.id);
    const ended = await video.poll(jobId);
    // Cancelled, unless the worker had already made the clip.
    if (ended.state !== "succeeded") {
      expect(ended).toMatchObject({ state: "failed", failureCode: "cancelled" });
    }
  });

  it("refuse a request the worker could not make before creating any job", async () => {
    const { video, image } = buildProviders(allLocal, { sql, userId: user.id, storage });
    const count = async () =>
      (await sql`select count(*)::int as n from public.background_tasks where user_id = ${user.id}`)[0].n;
    const before = await count();
    await expect(video.submit({ promptText: "x", ratio: "16:9", durationSeconds: 5 })).rejects.toBeInstanceOf(
      ProviderInputError,
    );
    await expect(image.submit({ prompt: "x", width: 8, height: 8 })).rejects.toBeInstanceOf(
      ProviderInputError,
    );
    expect(await count()).toBe(before);
  });

  it("let the local voice give up with a retryable timeout when no worker takes its job", async () => {
    const { audio } = buildProviders(allLocal, { sql, userId: user.id, storage, localVoiceTimeoutMs: 300 });
    const error = await audio.speak({
      voiceId: "narrator",
      text: `A line nobody speaks ${crypto.randomUUID()}`,
    }).catch((e) => e);
    // A render worker on the shared stack may take the job first; then the line is spoken for real.
    if (error instanceof Error) {
      expect(error).toMatchObject({ failureCode: "worker_timeout", retryable: true });
      const [job] =
        await sql`select status from public.background_tasks where user_id = ${user.id} and payload->>'op' = 'voice'`;
      expect(job.status).toBe("cancelled");
    } else {
      expect(error.audio.byteLength).toBeGreaterThan(0);
    }
  });
});
