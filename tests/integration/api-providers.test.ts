import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerKeyBinding } from "../../shared/crypto/secret-bindings.ts";
import { createSecretBox, keyIdOf } from "../../shared/crypto/secret-box.ts";
import { createProviderStore } from "../../shared/providers/registry/provider-store.ts";
import { resolveProviders } from "../../shared/providers/registry/resolve-providers.ts";
import { validateRegistration } from "../../shared/providers/registry/provider-config.ts";
import {
  asUser,
  connect,
  createUser,
  invoke,
  type Sql,
  stackEncryptionKey,
  stackEnv,
  type TestUser,
} from "../support/stack.ts";

let sql: Sql;
let alice: TestUser;
let bob: TestUser;
const aliceKey = `rw-alice-${crypto.randomUUID()}`;
const rotatedKey = `rw-rotated-${crypto.randomUUID()}`;
const defaultKey = `bt-default-${crypto.randomUUID()}`;
const seenBodies: string[] = [];

async function call(body: Record<string, unknown>, token: string, path = "") {
  const response = await invoke("providers", body, { token, path });
  seenBodies.push(response.text);
  return response;
}

beforeAll(async () => {
  sql = connect();
  alice = await createUser(sql);
  bob = await createUser(sql);
});
afterAll(() => sql.end());

const rowsOf = (userId: string) =>
  sql`select * from public.api_providers where user_id = ${userId} order by created_at`;

describe("the providers function over the gateway", () => {
  let videoId: string;

  it("registers a user's runway key sealed, answering only its hint", async () => {
    const { status, json } = await call({
      action: "register",
      providerType: "video",
      provider: "runway",
      model: "gen4.5",
      apiKey: aliceKey,
      settings: { ratio: "1280:720" },
      concurrencyLimit: 3,
    }, alice.token);
    expect(status).toBe(201);
    expect(json.provider).toMatchObject({
      provider: "runway",
      model: "gen4.5",
      isActive: true,
      keyHint: aliceKey.slice(-4),
      userId: alice.id,
    });
    videoId = json.provider.id;
    const [row] = await rowsOf(alice.id);
    expect(row.api_key_encrypted).not.toContain(aliceKey);
    expect(JSON.parse(row.api_key_encrypted)).toMatchObject({
      v: 2,
      kid: await keyIdOf(stackEncryptionKey()),
    });
    const [cap] =
      await sql`select max_running from engine.concurrency_limits where concurrency_key = ${row.concurrency_key}`;
    expect(cap.max_running).toBe(3);
  });

  it("refuses bad configs with a 4xx naming the problem and writes nothing", async () => {
    const before = (await rowsOf(alice.id)).length;
    const cases: [Record<string, unknown>, string][] = [
      [
        { providerType: "video", provider: "runway", model: "gen3a_turbo", apiKey: aliceKey },
        "unknown_model",
      ],
      [{
        providerType: "video",
        provider: "runway",
        model: "veo3",
        apiKey: aliceKey,
        settings: { ratio: "960:960" },
      }, "invalid_settings"],
      [{ providerType: "image", provider: "fal", model: "fal-ai/flux/dev" }, "api_key_required"],
      [{ providerType: "music", provider: "suno", model: "v4", apiKey: aliceKey }, "unknown_provider"],
    ];
    for (const [body, code] of cases) {
      const { status, json } = await call({ action: "register", ...body }, alice.token);
      expect(status).toBe(400);
      expect(json.error.code).toBe(code);
    }
    expect(await rowsOf(alice.id)).toHaveLength(before);
  });

  it("rotates the key in place, keeping the row and its hint in step", async () => {
    const [before] = await rowsOf(alice.id);
    const { status, json } = await call(
      { action: "rotate_key", id: videoId, apiKey: rotatedKey },
      alice.token,
    );
    expect(status).toBe(200);
    expect(json.provider).toMatchObject({ id: videoId, keyHint: rotatedKey.slice(-4) });
    expect(json.provider.rotatedAt).not.toBeNull();
    const [after] = await rowsOf(alice.id);
    expect(after.api_key_encrypted).not.toBe(before.api_key_encrypted);
    expect(after.api_key_encrypted).not.toContain(rotatedKey);
  });

  it("does not let another user rotate or deactivate the row, nor tell it from an unknown one", async () => {
    expect((await call({ action: "rotate_key", id: videoId, apiKey: "stolen-key-123456" }, bob.token)).status)
      .toBe(404);
    const foreign = await call({ action: "deactivate", id: videoId }, bob.token);
    const unknownId = crypto.randomUUID();
    const unknown = await call({ action: "deactivate", id: unknownId }, bob.token);
    // Before: 403 "is not yours" for Alice's row, 404 for an unknown id.
    expect(foreign.status).toBe(404);
    expect(foreign.json).toEqual(JSON.parse(JSON.stringify(unknown.json).replaceAll(unknownId, videoId)));
    expect((await rowsOf(alice.id))[0].is_active).toBe(true);
  });

  it("lists the user's rows and what each type resolves to, without keys", async () => {
    const { json } = await call({ action: "list" }, alice.token);
    expect(json.providers.map((p: { id: string }) => p.id)).toContain(videoId);
    expect(json.effective.video).toMatchObject({ id: videoId, source: "user", provider: "runway" });
    expect(json.effective.llm).toMatchObject({ source: expect.stringMatching(/project|fallback/) });
    const bobs = await call({ action: "list" }, bob.token);
    expect(bobs.json.providers.map((p: { id: string }) => p.id)).not.toContain(videoId);
  });

  it("replaces the active choice on a new registration, and deactivates back to the fallback", async () => {
    const { json } = await call({
      action: "register",
      providerType: "video",
      provider: "local",
      model: "local",
    }, alice.token);
    const rows = await rowsOf(alice.id);
    expect(rows.filter((r) => r.is_active).map((r) => r.id)).toEqual([json.provider.id]);
    const [oldRow] = rows;
    expect(
      await sql`select 1 from engine.concurrency_limits where concurrency_key = ${oldRow.concurrency_key}`,
    ).toHaveLength(0);
    await call({ action: "deactivate", id: json.provider.id }, alice.token);
    const resolved = await resolveProviders(sql, alice.id, { REELFORGE_ENCRYPTION_KEY: undefined });
    expect(resolved.video.source).not.toBe("user");
  });

  it("manages project defaults with the service role only", async () => {
    const service = stackEnv().SERVICE_ROLE_KEY;
    expect(
      (await call(
        {
          action: "register",
          providerType: "music",
          provider: "beatoven",
          model: "maestro",
          apiKey: defaultKey,
        },
        alice.token,
        "/defaults",
      )).status,
    ).toBe(401);
    const { status, json } = await call(
      {
        action: "register",
        providerType: "music",
        provider: "beatoven",
        model: "maestro",
        apiKey: defaultKey,
      },
      service,
      "/defaults",
    );
    try {
      expect(status).toBe(201);
      expect(json.provider.userId).toBeNull();
      // A user sees the default, but neither its key nor its hint (before: its last four
      // characters, to every user), and cannot change it.
      const seen = await asUser(
        sql,
        bob.id,
        (tx) => tx`select id, key_hint from public.api_providers_without_keys where id = ${json.provider.id}`,
      );
      expect(seen).toEqual([{ id: json.provider.id, key_hint: null }]);
      await expect(
        asUser(sql, bob.id, (tx) => tx`select key_hint from public.api_providers where user_id is null`),
      )
        .rejects.toMatchObject({ code: "42501" });
      const listed = await call({ action: "list" }, bob.token);
      const listedDefault = listed.json.providers.find((row: { id: string }) => row.id === json.provider.id);
      expect(listedDefault).toMatchObject({ userId: null, keyHint: null });
      expect((await call({ action: "deactivate", id: json.provider.id }, bob.token)).status).toBe(403);
      expect(
        (await call(
          { action: "rotate_key", id: json.provider.id, apiKey: `${defaultKey}-2` },
          service,
          "/defaults",
        )).status,
      ).toBe(200);
    } finally {
      await sql`delete from public.api_providers where id = ${json.provider?.id ?? null}`;
    }
  });

  it("never puts a key in any answer or in the function's log", () => {
    const log = readFileSync(
      join(stackEnv().STORAGE_DIR, "..", "logs", "functions", "providers.log"),
      "utf8",
    );
    for (const key of [aliceKey, rotatedKey, defaultKey]) {
      for (const body of seenBodies) expect(body).not.toContain(key);
      expect(log).not.toContain(key);
    }
  });
});

describe("row level security on api_providers", () => {
  it("hides another user's rows and keeps the key column from authenticated users", async () => {
    const hidden = await asUser(
      sql,
      bob.id,
      (tx) => tx`select id from public.api_providers where user_id = ${alice.id}`,
    );
    expect(hidden).toHaveLength(0);
    await expect(asUser(sql, alice.id, (tx) => tx`select api_key_encrypted from public.api_providers`))
      .rejects.toMatchObject({ code: "42501" });
    await expect(asUser(sql, alice.id, (tx) => tx`select * from public.api_providers`)).rejects.toMatchObject(
      { code: "42501" },
    );
    const own = await asUser(
      sql,
      alice.id,
      (tx) => tx`select * from public.api_providers_without_keys where user_id = ${alice.id}`,
    );
    expect(own.length).toBeGreaterThan(0);
    expect(own[0]).not.toHaveProperty("api_key_encrypted");
    // A user's own hints stay readable there.
    const hints = await sql`select id, key_hint from public.api_providers where user_id = ${alice.id}`;
    expect(
      own.map((row) => ({ id: row.id, key_hint: row.key_hint })).sort((a, b) => a.id.localeCompare(b.id)),
    )
      .toEqual(
        hints.map((row) => ({ id: row.id, key_hint: row.key_hint })).sort((a, b) => a.id.localeCompare(b.id)),
      );
    expect(hints.some((row) => row.key_hint !== null)).toBe(true);
  });

  it("lets no user insert rows or change keys directly, nor touch another's row", async () => {
    await expect(asUser(sql, alice.id, (tx) =>
      tx`
      insert into public.api_providers (user_id, provider_type, provider, model) values (${alice.id}, 'llm', 'local', 'local')`))
      .rejects.toMatchObject({ code: "42501" });
    await expect(
      asUser(
        sql,
        alice.id,
        (tx) => tx`update public.api_providers set api_key_encrypted = 'x' where user_id = ${alice.id}`,
      ),
    )
      .rejects.toMatchObject({ code: "42501" });
    const changed = await asUser(
      sql,
      bob.id,
      (tx) => tx`update public.api_providers set is_active = false where user_id = ${alice.id} returning id`,
    );
    expect(changed).toHaveLength(0);
  });

  it("lets the service role read the sealed key", async () => {
    const rows = await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return tx`select api_key_encrypted from public.api_providers where user_id = ${alice.id} and api_key_encrypted is not null`;
    });
    expect(rows.length).toBeGreaterThan(0);
  });
});

describe("resolveProviders", () => {
  it("opens the user's key, falls back to local, and refuses a key sealed under another secret", async () => {
    const carol = await createUser(sql);
    const store = createProviderStore(sql);
    const box = createSecretBox("resolve-test-key-with-at-least-32-chars");
    const key = `sk-carol-${crypto.randomUUID()}`;
    const valid = validateRegistration({
      providerType: "llm",
      provider: "openai",
      model: "gpt-4.1-mini",
      apiKey: key,
    });
    const id = crypto.randomUUID();
    const row = await store.register(carol.id, valid, {
      id,
      sealed: await box.seal(key, providerKeyBinding(id)),
      hint: "hint",
    });
    const resolved = await resolveProviders(sql, carol.id, {
      REELFORGE_ENCRYPTION_KEY: "resolve-test-key-with-at-least-32-chars",
    });
    expect(resolved.llm).toMatchObject({
      id: row.id,
      source: "user",
      provider: "openai",
      apiKey: key,
      concurrencyKey: row.concurrencyKey,
    });
    expect(resolved.image.provider === "local" || resolved.image.source === "project").toBe(true);
    await expect(
      resolveProviders(sql, carol.id, {
        REELFORGE_ENCRYPTION_KEY: "another-key-with-at-least-32-characters!",
      }),
    )
      .rejects.toMatchObject({ code: "provider_key_unreadable" });
  });
});
