/**
 * Every caller × every action of every function, against one owner's things, on the real stack:
 * another user, an anonymous user, the anon key, the service role and an operator each get the
 * status their cell names, the very answer they get for an id that does not exist (someone else's
 * thing is not found, not forbidden: an id tells nobody what exists) — and nothing in the database
 * changes after any refused call. Then
 * every public RPC, run as the `authenticated` and `anon` roles with the caller's claims.
 */
import type postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  admin,
  connect,
  createAnonymousUser,
  createOperatorUser,
  createUser,
  invoke,
  type Sql,
  stackEnv,
  type TestUser,
  waitFor,
} from "../support/stack.ts";

type Actor = "other" | "anonymous" | "anonKey" | "serviceRole" | "operator";
const ACTORS: Actor[] = ["other", "anonymous", "anonKey", "serviceRole", "operator"];

let sql: Sql;
let owner: TestUser;
let users: Record<"other" | "anonymous" | "operator", TestUser>;
const ids = { movieId: "", produceTaskId: "", sceneTaskId: "", providerId: "", runId: "" };

const tokenOf = (actor: Actor | "owner") =>
  actor === "owner"
    ? owner.token
    : actor === "anonKey"
    ? stackEnv().ANON_KEY
    : actor === "serviceRole"
    ? stackEnv().SERVICE_ROLE_KEY
    : users[actor].token;

/** The rows of everyone in this test (by user, by movie), and every task created since it began. */
async function fingerprint(): Promise<string> {
  const people = [owner.id, ...Object.values(users).map((u) => u.id)];
  const tables = await sql`
    select c.table_name,
           bool_or(c.column_name = 'user_id') as by_user,
           bool_or(c.column_name = 'movie_id') as by_movie
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
     where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
     group by c.table_name order by c.table_name`;
  const parts: string[] = [];
  for (const t of tables) {
    const where = t.by_user
      ? sql`where user_id = any(${people}::uuid[])`
      : t.by_movie
      ? sql`where movie_id in (select id from public.movies where user_id = any(${people}::uuid[]))`
      : null;
    if (!where) continue;
    const [{ digest }] = await sql`
      select count(*) || ':' || coalesce(md5(string_agg(md5(r::text), '' order by md5(r::text))), '') as digest
        from ${sql("public")}.${sql(t.table_name)} r ${where}`;
    parts.push(`${t.table_name}=${digest}`);
  }
  const [{ users: authRows }] = await sql`
    select md5(string_agg(id::text || coalesce(raw_app_meta_data::text, ''), ',' order by id)) as users
      from auth.users where id = any(${people}::uuid[])`;
  parts.push(`auth.users=${authRows}`);
  const [{ defaults }] =
    await sql`select md5(string_agg(r::text, '')) as defaults from public.usage_limits r where user_id is null`;
  parts.push(`usage_limits defaults=${defaults}`);
  return parts.join("\n");
}

beforeAll(async () => {
  sql = connect();
  owner = await createUser();
  users = {
    other: await createUser(),
    anonymous: await createAnonymousUser(),
    operator: await createOperatorUser(),
  };
  await admin("config", { env: { REELFORGE_PROVIDER_POLL_MS: "200" } });

  const film = await invoke("produce-movie", {
    action: "start",
    title: "Owned Things",
    prompt: "A ferry crossing at dawn",
    genre: "drama",
    durationMinutes: 0.25,
    orientation: "landscape",
  }, { token: owner.token });
  expect(film.status, film.text).toBe(202);
  ids.movieId = film.json.movieId;
  ids.produceTaskId = film.json.taskId;
  await waitFor(async () => {
    const [movie] = await sql`select status from public.movies where id = ${ids.movieId}`;
    return ["completed", "failed"].includes(movie.status) || null;
  }, { timeoutMs: 240_000, everyMs: 500, what: "the owner's film to end" });
  const [scene] = await sql`
    select id from public.background_tasks where parent_id = ${ids.produceTaskId} and kind = 'film.chain' limit 1`;
  ids.sceneTaskId = scene.id;
  const provider = await invoke("providers", {
    action: "register",
    providerType: "video",
    provider: "local",
    model: "local",
  }, { token: owner.token });
  expect(provider.status, provider.text).toBe(201);
  ids.providerId = provider.json.provider.id;
  const run = await invoke("regenerate-asset", {
    action: "start",
    kind: "cover",
    target: { movieId: ids.movieId },
  }, { token: owner.token });
  expect(run.status, run.text).toBe(202);
  ids.runId = run.json.runId;
  await waitFor(async () => {
    const status = await invoke("regenerate-asset", { action: "status", runId: ids.runId }, {
      token: owner.token,
    });
    return ["preview", "failed"].includes(status.json?.run?.status) || null;
  }, { timeoutMs: 120_000, everyMs: 500, what: "the owner's regeneration to reach its preview" });
}, 400_000);

afterAll(async () => {
  await admin("config", { env: { REELFORGE_PROVIDER_POLL_MS: null } });
  await sql.end();
});

interface Cell {
  fn: string;
  body: () => Record<string, unknown>;
  spends?: boolean;
}

const film = (action: string, extra: () => Record<string, unknown> = () => ({ movieId: ids.movieId })) => ({
  action,
  ...extra(),
});
const CELLS: Record<string, Cell> = {
  "produce-movie status": { fn: "produce-movie", body: () => film("status") },
  "produce-movie status by task": {
    fn: "produce-movie",
    body: () => ({ action: "status", taskId: ids.produceTaskId }),
  },
  "produce-movie resume": { fn: "produce-movie", body: () => film("resume"), spends: true },
  "produce-movie cancel": { fn: "produce-movie", body: () => film("cancel") },
  "generate-scene-video start": {
    fn: "generate-scene-video",
    body: () => film("start", () => ({ movieId: ids.movieId, sceneNumber: 1 })),
    spends: true,
  },
  "generate-scene-video status": {
    fn: "generate-scene-video",
    body: () => ({ action: "status", taskId: ids.sceneTaskId }),
  },
  "generate-scene-video cancel": {
    fn: "generate-scene-video",
    body: () => ({ action: "cancel", taskId: ids.sceneTaskId }),
  },
  "generate-scene-video resume": {
    fn: "generate-scene-video",
    body: () => ({ action: "resume", taskId: ids.sceneTaskId }),
    spends: true,
  },
  "generate-audio start": {
    fn: "generate-audio",
    body: () => film("start", () => ({ movieId: ids.movieId, sceneNumber: 1 })),
    spends: true,
  },
  "assemble start": { fn: "assemble", body: () => film("start"), spends: true },
  "regenerate-asset start": {
    fn: "regenerate-asset",
    body: () => ({ action: "start", kind: "cover", target: { movieId: ids.movieId } }),
    spends: true,
  },
  "regenerate-asset status": {
    fn: "regenerate-asset",
    body: () => ({ action: "status", runId: ids.runId }),
  },
  "regenerate-asset accept": {
    fn: "regenerate-asset",
    body: () => ({ action: "accept", runId: ids.runId }),
    spends: true,
  },
  "regenerate-asset reject": {
    fn: "regenerate-asset",
    body: () => ({ action: "reject", runId: ids.runId }),
  },
  // Every function's task actions; a task another function runs is not found there, for anyone.
  ...Object.fromEntries(["generate-audio", "assemble", "regenerate-asset"].flatMap((fn) => [
    [`${fn} status by task`, {
      fn,
      body: () => ({ action: "status", taskId: ids.sceneTaskId }),
    }],
    [`${fn} cancel by task`, {
      fn,
      body: () => ({ action: "cancel", taskId: ids.sceneTaskId }),
    }],
    [`${fn} resume by task`, {
      fn,
      body: () => ({ action: "resume", taskId: ids.sceneTaskId }),
      spends: true,
    }],
  ])),
  "providers rotate_key": {
    fn: "providers",
    body: () => ({ action: "rotate_key", id: ids.providerId, apiKey: "sk-stolen-0123456789abcdef" }),
    spends: true,
  },
  "providers deactivate": {
    fn: "providers",
    body: () => ({ action: "deactivate", id: ids.providerId }),
  },
};

/** The answer a caller gets for a cell, from the rules in docs/security.md. */
function expected(actor: Actor, cell: Cell): { status: number; code?: string } {
  if (actor === "anonKey" || actor === "serviceRole") return { status: 401 };
  if (actor === "anonymous" && cell.spends) return { status: 403, code: "anonymous_not_allowed" };
  // Another user's thing, or a task another function runs, is not found, as an unknown id is.
  return { status: 404, code: "not_found" };
}

/** The cell's body with each of the owner's ids replaced by a random one: a thing that does not exist. */
function withUnknownIds(body: Record<string, unknown>): Record<string, unknown> {
  let text = JSON.stringify(body);
  for (const id of Object.values(ids)) text = text.replaceAll(id, crypto.randomUUID());
  return JSON.parse(text);
}

/** An answer with every UUID in it masked: two answers about different ids compare as equal. */
const masked = (answer: { status: number; text: string }) => ({
  status: answer.status,
  text: answer.text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>"),
});

describe("another tenant's things, through every function", () => {
  for (const [name, cell] of Object.entries(CELLS)) {
    it(`${name}: every caller but the owner is refused, and nothing changes`, async () => {
      for (const actor of ACTORS) {
        const before = await fingerprint();
        const answer = await invoke(cell.fn, cell.body(), { token: tokenOf(actor) });
        const want = expected(actor, cell);
        expect(answer.status, `${actor}: ${answer.text}`).toBe(want.status);
        if (want.code) expect(answer.json.error.code, actor).toBe(want.code);
        expect(answer.json?.error?.message, `${actor} gets an error naming the problem`).toEqual(
          expect.any(String),
        );
        expect(await fingerprint(), `${actor}'s refused ${name} changed the database`).toBe(before);
        // Before, another user's film, task, run or provider answered 403, an unknown one 404 (and
        // produce-movie named the film of another user's produce task).
        const unknown = await invoke(cell.fn, withUnknownIds(cell.body()), { token: tokenOf(actor) });
        expect(masked(answer), `${actor}: another user's thing answers as an unknown one`).toEqual(
          masked(unknown),
        );
        // No id but the one asked about (before: the film of another user's produce task).
        const asked = JSON.stringify(cell.body());
        for (const id of Object.values(ids).filter((id) => !asked.includes(id))) {
          expect(answer.text, actor).not.toContain(id);
        }
      }
    });
  }

  it("the owner reads its own film, run and providers (the cells above are refusals, not a dead function)", async () => {
    expect((await invoke("produce-movie", film("status"), { token: owner.token })).status).toBe(200);
    expect(
      (await invoke("generate-scene-video", { action: "status", taskId: ids.sceneTaskId }, {
        token: owner.token,
      })).status,
    ).toBe(200);
    expect(
      (await invoke("regenerate-asset", { action: "status", runId: ids.runId }, { token: owner.token }))
        .status,
    ).toBe(200);
    const listed = await invoke("providers", { action: "list" }, { token: owner.token });
    expect(listed.json.providers.map((p: { id: string }) => p.id)).toContain(ids.providerId);
  });

  it("lists no one else's providers, and an anonymous user may list its own (none)", async () => {
    for (const actor of ["other", "anonymous", "operator"] as const) {
      const listed = await invoke("providers", { action: "list" }, { token: tokenOf(actor) });
      expect(listed.status, listed.text).toBe(200);
      expect(JSON.stringify(listed.json)).not.toContain(ids.providerId);
    }
  });

  it("clone-database admits operators only: users, anonymous users and the anon key get 403 operator_only", async () => {
    for (const actor of ["owner", "other", "anonymous", "anonKey"] as const) {
      const jobId = crypto.randomUUID();
      for (
        const body of [
          { action: "start", targetUrl: "postgresql://u:p@db.example.com:5432/x" },
          { action: "status", jobId },
          { action: "resume", jobId },
          { action: "restart", jobId },
          { action: "cancel", jobId },
        ]
      ) {
        const before = await fingerprint();
        const answer = await invoke("clone-database", body, { token: tokenOf(actor) });
        expect(answer.status, `${actor} ${body.action}: ${answer.text}`).toBe(403);
        expect(answer.json.error.code).toBe("operator_only");
        expect(await fingerprint()).toBe(before);
      }
    }
    for (const actor of ["serviceRole", "operator"] as const) {
      const answer = await invoke("clone-database", { action: "status", jobId: crypto.randomUUID() }, {
        token: tokenOf(actor),
      });
      expect(answer.status, `${actor}: ${answer.text}`).toBe(404);
    }
  });
});

describe("public RPCs, as the database roles the API runs them as", () => {
  /** Runs `query` as `role` with `userId`'s claims (PostgREST's way); returns its error code, if any. */
  async function rpcAs(
    role: "authenticated" | "anon",
    userId: string | null,
    query: (tx: postgres.TransactionSql) => Promise<unknown>,
  ) {
    try {
      await sql.begin(async (tx) => {
        const claims = userId ? { sub: userId, role, is_anonymous: userId === users.anonymous.id } : { role };
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
        await tx.unsafe(`set local role ${role}`);
        await query(tx);
      });
      return null;
    } catch (error) {
      return (error as { code?: string }).code ?? "error";
    }
  }

  const RPCS: Record<string, (tx: postgres.TransactionSql) => Promise<unknown>> = {
    "cancel_task(uuid)": (tx) => tx`select public.cancel_task(${ids.produceTaskId})`,
    "resume_task(uuid)": (tx) => tx`select public.resume_task(${ids.produceTaskId})`,
    "assert_image_request_owner(uuid)": (tx) => tx`select public.assert_image_request_owner(${ids.movieId})`,
    "save_generated_image(uuid,integer,integer,text)": (tx) =>
      tx`select public.save_generated_image(${ids.movieId}, 1, 0, 'https://evil.example/x.png')`,
    "clear_scene_images(uuid,integer)": (tx) => tx`select public.clear_scene_images(${ids.movieId}, 1)`,
    "request_scenes_with_images(uuid)": (tx) => tx`select public.request_scenes_with_images(${ids.movieId})`,
    "migrate_legacy_images(uuid)": (tx) => tx`select public.migrate_legacy_images(${ids.movieId})`,
    "my_usage()": (tx) => tx`select public.my_usage()`,
    "own_key_hint(uuid)": (tx) => tx`select public.own_key_hint(${ids.providerId})`,
    "set_usage_limits(uuid,jsonb)": async (tx) => {
      await tx`select public.set_usage_limits(${owner.id}, ${tx.json({ films_per_day: 1000 })})`;
      await tx`select public.set_usage_limits(null, ${tx.json({ films_per_day: 1000 })})`;
    },
  };

  it("grants EXECUTE to the API roles on exactly the reviewed RPCs", async () => {
    const rows = await sql`
      select p.oid::regprocedure::text as fn,
             has_function_privilege('anon', p.oid, 'execute') as anon,
             has_function_privilege('authenticated', p.oid, 'execute') as authenticated
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname in ('public', 'engine', 'asset_admin')
         and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute'))
       order by 1`;
    const reviewed = [...Object.keys(RPCS).map((f) => `${f}`), "asset_url(assets)", "is_backend_caller()"];
    for (const row of rows) {
      expect(reviewed, `${row.fn} is callable by API roles without review`).toContain(
        row.fn.replace(/^public\./, ""),
      );
    }
    for (const row of rows.filter((r) => r.anon)) {
      expect(["asset_url(assets)", "is_backend_caller()"], `${row.fn} is callable by anon`).toContain(
        row.fn.replace(/^public\./, ""),
      );
    }
  });

  it("own_key_hint answers a key's hint to its owner only", async () => {
    const registered = await invoke("providers", {
      action: "register",
      providerType: "music",
      provider: "beatoven",
      model: "maestro",
      apiKey: "bt-owner-key-0123456789wxyz",
    }, { token: owner.token });
    expect(registered.status, registered.text).toBe(201);
    const id = registered.json.provider.id as string;
    try {
      const hintAs = async (userId: string) => {
        let hint: unknown;
        const code = await rpcAs("authenticated", userId, async (tx) => {
          [{ hint }] = await tx`select public.own_key_hint(${id}) as hint`;
        });
        expect(code).toBeNull();
        return hint;
      };
      expect(await hintAs(owner.id)).toBe("wxyz");
      for (const other of [users.other.id, users.anonymous.id, users.operator.id]) {
        expect(await hintAs(other)).toBeNull();
      }
      expect(await rpcAs("anon", null, (tx) => tx`select public.own_key_hint(${id})`)).toBe("42501");
    } finally {
      await sql`delete from public.api_providers where id = ${id}`;
    }
  });

  for (const [name, call] of Object.entries(RPCS)) {
    it(`${name} on another tenant's film or task is refused for every role and claim, and changes nothing`, async () => {
      for (
        const [role, userId] of [
          ["authenticated", users.other.id],
          ["authenticated", users.anonymous.id],
          ["authenticated", users.operator.id],
          ["anon", null],
        ] as const
      ) {
        const before = await fingerprint();
        const code = await rpcAs(role, userId, call);
        // Refused outright (permission, ownership), or a no-op the fingerprint proves.
        if (role === "anon") expect(code, `${name} as anon`).toBe("42501");
        expect(await fingerprint(), `${name} as ${role} ${userId ?? ""}`).toBe(before);
      }
    });
  }
});
