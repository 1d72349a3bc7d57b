import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../scripts/stack/jwt.ts";
import { connect, createUser, invoke, type Sql, stackEnv, waitFor, waitForStatus } from "../support/stack.ts";
import { stackStorage } from "../support/stack-storage.ts";

let sql: Sql;

beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

/** A token the stack signed correctly (legacy HS256) for a user auth.users has never held. */
async function tokenForNobody() {
  const env = stackEnv();
  const userId = crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const token = await signJwt({
    iss: `${env.API_URL}/auth/v1`,
    aud: "authenticated",
    sub: userId,
    role: "authenticated",
    iat: now,
    exp: now + 600,
  }, env.JWT_SECRET);
  return { id: userId, token };
}

/** What the two starts write for their user, and what they charge. */
const written = async (userId: string) =>
  (await sql`
  select (select count(*) from public.api_providers where user_id = ${userId})::int as providers,
         (select count(*) from public.usage_events where user_id = ${userId})::int as usage,
         (select count(*) from public.movies where user_id = ${userId})::int as movies,
         (select count(*) from public.movie_creation_progress where user_id = ${userId})::int as progress,
         (select count(*) from public.background_tasks where user_id = ${userId})::int as tasks`)[0];

const nothing = { providers: 0, usage: 0, movies: 0, progress: 0, tasks: 0 };

const registerProvider = { action: "register", providerType: "render", provider: "worker", model: "ffmpeg" };
const startFilm = { action: "start", title: "T", prompt: "P", genre: "G", durationMinutes: 0.5 };

function expectUserNotFound(response: Awaited<ReturnType<typeof invoke>>) {
  expect(response.status, response.text).toBe(401);
  expect(response.json.error.code).toBe("user_not_found");
  expect(response.json.error.message).toMatch(/account no longer exists.*sign in again/);
}

describe("a valid token for a user auth.users does not hold", () => {
  it("is answered 401 user_not_found by providers register, which writes no provider", async () => {
    const nobody = await tokenForNobody();
    expectUserNotFound(await invoke("providers", registerProvider, { token: nobody.token }));
    expect(await written(nobody.id)).toEqual(nothing);
  });

  it("is answered 401 user_not_found by produce-movie start, which creates no film, task or usage", async () => {
    const nobody = await tokenForNobody();
    expectUserNotFound(await invoke("produce-movie", startFilm, { token: nobody.token }));
    expect(await written(nobody.id)).toEqual(nothing);
  });

  it("still reads as a user who owns nothing", async () => {
    const nobody = await tokenForNobody();
    const providers = await invoke("providers", { action: "list" }, { token: nobody.token });
    expect(providers.status, providers.text).toBe(200);
    expect(providers.json.providers.filter((p: { userId: string | null }) => p.userId !== null)).toEqual([]);
    const film = await invoke("produce-movie", { action: "status", movieId: crypto.randomUUID() }, {
      token: nobody.token,
    });
    expect(film.status, film.text).toBe(404);
  });
});

describe("an unexpired token of a deleted account", () => {
  it("is answered 401 user_not_found by both starts, which write nothing", async () => {
    const user = await createUser();
    await sql`delete from auth.users where id = ${user.id}`;
    expectUserNotFound(await invoke("providers", registerProvider, { token: user.token }));
    expectUserNotFound(await invoke("produce-movie", startFilm, { token: user.token }));
    expect(await written(user.id)).toEqual(nothing);
  });
});

describe("an account's deletion", () => {
  it("removes the account's files, and looks again once jobs running at the deletion can no longer write", async () => {
    const gone = await createUser();
    const kept = await createUser();
    const storage = stackStorage(sql);
    const bucket = "media";
    const upload = (path: string) =>
      storage.upload(bucket, path, new TextEncoder().encode(path), {
        contentType: "application/octet-stream",
        upsert: true,
      });
    const under = async (userId: string) =>
      (await sql`select name from storage.objects where bucket_id = ${bucket} and name like ${
        "%/" + userId + "/%"
      }`)
        .map((row) => row.name as string).sort();
    const theirs = [
      `films/${gone.id}/film/video.mp4`,
      `assets/${gone.id}/slot/v2.png`,
      `local/${gone.id}/image/0123abcd.png`,
    ];
    const others = [`films/${kept.id}/film/video.mp4`, `local/${kept.id}/image/0123abcd.png`];
    for (const path of [...theirs, ...others]) await upload(path);
    const deleting = await sql.reserve();
    try {
      // The second look an hour away: the test brings it forward itself.
      await deleting`set reelforge.forget_again_seconds = 3600`;
      await deleting`delete from auth.users where id = ${gone.id}`;
      await deleting`reset reelforge.forget_again_seconds`;
    } finally {
      deleting.release();
    }
    try {
      const [task] = await sql`
        select id, user_id, function_name from public.background_tasks
         where kind = 'account.forget' and idempotency_key = ${"account.forget:" + gone.id}`;
      expect(task).toMatchObject({ user_id: null, function_name: "assemble" });
      // Before, nothing listed a user without films: their files stayed for good.
      await waitFor(async () => {
        const [row] = await sql`select status, metadata from public.background_tasks where id = ${task.id}`;
        return (row.status === "queued" && row.metadata.pass === 1) || null;
      }, { timeoutMs: 60_000, what: "the first pass over the deleted account's files" });
      expect(await under(gone.id)).toEqual([]);
      expect(await under(kept.id)).toEqual([...others].sort());

      // A render job that was running at the deletion uploads its file after the first pass.
      await upload(`local/${gone.id}/video/late.mp4`);
      await sql`update public.background_tasks set run_after = now() where id = ${task.id}`;
      await sql`select engine.dispatch_task(${task.id})`;
      const done = await waitForStatus(sql, task.id, ["succeeded", "failed"], 60_000);
      expect(done.status, JSON.stringify(done.last_error)).toBe("succeeded");
      expect(done.result).toEqual({ removed: 4 });
      expect(await under(gone.id)).toEqual([]);
      expect(await under(kept.id)).toEqual([...others].sort());
    } finally {
      await storage.remove(bucket, others);
    }
  });

  it("goes ahead where dispatch is not configured: the removal waits for the sweeper", async () => {
    const user = await createUser();
    // In a transaction rolled back: a project (or a clone's target) with no doorbell configured.
    const rolledBack = new Error("rolled back");
    const seen = await sql.begin(async (tx) => {
      await tx`update engine.settings set functions_url = null`;
      // Before: RF002 "task engine dispatch is not configured", and the account was not deleted.
      await tx`delete from auth.users where id = ${user.id}`;
      const [task] = await tx`
        select status, dispatched_at from public.background_tasks
         where kind = 'account.forget' and idempotency_key = ${"account.forget:" + user.id}`;
      const [left] = await tx`select count(*)::int as n from auth.users where id = ${user.id}`;
      throw Object.assign(rolledBack, { seen: { task, users: left.n } });
    }).catch((
      error,
    ) => (error === rolledBack ? (error as Error & { seen: unknown }).seen : Promise.reject(error)));
    expect(seen).toEqual({ task: { status: "queued", dispatched_at: null }, users: 0 });
  });
});
