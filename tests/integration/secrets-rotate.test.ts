import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cloneTargetBinding,
  cloneTargetStorageBinding,
  providerKeyBinding,
} from "../../shared/crypto/secret-bindings.ts";
import { createSecretBox, keyIdOf, parseStoredSecret } from "../../shared/crypto/secret-box.ts";
import { CLONE_KIND } from "../../shared/clone/clone-task.ts";
import { createTaskStore } from "../../shared/engine/task-store.ts";
import { resolveProviders } from "../../shared/providers/registry/resolve-providers.ts";
import {
  connect,
  createUser,
  invoke,
  type Sql,
  stackEncryptionKey,
  stackEnv,
  type TestUser,
} from "../support/stack.ts";

const REPO = join(import.meta.dirname!, "..", "..");
// Key A is the stack's own key (what its functions seal with); B is the key we rotate to. The
// stack is put back under A afterwards, so the files after this one find their secrets readable.
const keyA = stackEncryptionKey();
const keyB = `rotated-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const providerKey = `rw-rotate-${crypto.randomUUID()}`;
const targetPassword = `pw-${crypto.randomUUID()}`;
const targetUrl = `postgresql://postgres:${targetPassword}@db.rotate.example:5432/postgres`;
const storageKey = `service-${crypto.randomUUID()}`;

let sql: Sql;
let owner: TestUser;
let providerId: string;
let jobId: string;

/** Runs `npm run secrets:rotate`'s script against the stack's database with these keys. */
function rotate(current: string, previous?: string, args: string[] = []) {
  const result = spawnSync(join(REPO, "node_modules/.bin/deno"), [
    "run",
    "-A",
    "--no-prompt",
    "--config",
    "deno.json",
    "scripts/secrets-rotate.ts",
    ...args,
  ], {
    cwd: REPO,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DENO_DIR: process.env.DENO_DIR,
      SUPABASE_DB_URL: stackEnv().DB_URL,
      REELFORGE_ENCRYPTION_KEY: current,
      ...(previous ? { REELFORGE_ENCRYPTION_KEY_PREVIOUS: previous } : {}),
    },
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    report: result.status! <= 1 ? JSON.parse(result.stdout) : null,
  };
}

async function sealedValues() {
  const [provider] = await sql`select api_key_encrypted from public.api_providers where id = ${providerId}`;
  const [task] =
    await sql`select metadata -> 'clone' as clone from public.background_tasks where id = ${jobId}`;
  return {
    provider: parseStoredSecret(provider.api_key_encrypted),
    target: parseStoredSecret(task.clone.target),
    targetStorage: parseStoredSecret(task.clone.targetStorage),
  };
}

/** Rows of every table in the database (catalogs aside) whose text holds `needle`. */
async function rowsHolding(needle: string): Promise<string[]> {
  const tables = await sql`
    select format('%I.%I', table_schema, table_name) as name from information_schema.tables
     where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
  const found: string[] = [];
  for (const { name } of tables) {
    const [{ n }] = await sql.unsafe(
      `select count(*)::int as n from ${name} t where strpos(t::text, $1) > 0`,
      [needle],
    );
    if (n > 0) found.push(name);
  }
  return found;
}

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql);
  const registered = await invoke("providers", {
    action: "register",
    providerType: "video",
    provider: "runway",
    model: "gen4.5",
    apiKey: providerKey,
  }, { token: owner.token });
  expect(registered.status).toBe(201);
  providerId = registered.json.provider.id;
  // The clone job as clone-database's start creates it (same store call and bindings), due in 2100
  // so no worker runs it: this test is about what is stored, not about cloning.
  const boxA = createSecretBox(keyA);
  const job = await createTaskStore(sql).enqueueWithMetadataFor(
    { userId: owner.id, kind: CLONE_KIND, runAfter: new Date("2100-01-01T00:00:00Z"), dispatch: false },
    async (id) => ({
      clone: {
        options: { includeData: true, includeStorage: true, schemas: ["public"] },
        target: await boxA.seal(targetUrl, cloneTargetBinding(id)),
        targetMasked: "postgresql://postgres:***@db.rotate.example:5432/postgres",
        targetStorage: await boxA.seal(
          JSON.stringify({ url: "https://rotate.example", serviceRoleKey: storageKey }),
          cloneTargetStorageBinding(id),
        ),
        checkpoint: { phase: "preflight" },
      },
    }),
  );
  jobId = job.id;
});

afterAll(async () => {
  // Back under the stack's key, whatever happened above.
  rotate(keyA, keyB);
  await sql`delete from public.background_tasks where id = ${jobId}`;
  await sql.end();
});

describe("npm run secrets:rotate", () => {
  it("starts from values sealed under key A by the providers function and the clone job's start", async () => {
    const before = await sealedValues();
    const kidA = await keyIdOf(keyA);
    expect([before.provider, before.target, before.targetStorage].map((s) => "kid" in s ? s.kid : null))
      .toEqual([kidA, kidA, kidA]);
  });

  it("re-seals every stored secret under key B, with A as previous, and reports counts but no values", async () => {
    const run = rotate(keyB, keyA);
    // Rows other files sealed under a throwaway key are reported unreadable (exit 1), never touched.
    expect(
      run.status === 0 ||
        run.report.providerKeys.unreadable.length + run.report.cloneTargets.unreadable.length > 0,
      run.stderr,
    ).toBe(true);
    expect(run.report.keyIds).toEqual({ current: await keyIdOf(keyB), previous: [await keyIdOf(keyA)] });
    expect(run.report.providerKeys.resealed).toBeGreaterThanOrEqual(1);
    expect(run.report.cloneTargets.resealed).toBeGreaterThanOrEqual(2);
    expect([...run.report.providerKeys.unreadable, ...run.report.cloneTargets.unreadable]).not.toContain(
      providerId,
    );
    expect(run.report.cloneTargets.unreadable).not.toContain(jobId);
    for (const secret of [keyA, keyB, providerKey, targetPassword, storageKey]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it("leaves values that key B alone opens, and that key A alone no longer does", async () => {
    const after = await sealedValues();
    const kidB = await keyIdOf(keyB);
    expect([after.provider, after.target, after.targetStorage].map((s) => "kid" in s ? s.kid : null)).toEqual(
      [kidB, kidB, kidB],
    );
    const boxB = createSecretBox(keyB);
    expect(await boxB.open(after.provider, providerKeyBinding(providerId))).toBe(providerKey);
    expect(await boxB.open(after.target, cloneTargetBinding(jobId))).toBe(targetUrl);
    expect(JSON.parse(await boxB.open(after.targetStorage, cloneTargetStorageBinding(jobId)))).toMatchObject({
      serviceRoleKey: storageKey,
    });
    await expect(createSecretBox(keyA).open(after.provider, providerKeyBinding(providerId))).rejects
      .toThrow();
    // The function code that opens provider keys, configured with B only.
    const resolved = await resolveProviders(sql, owner.id, { REELFORGE_ENCRYPTION_KEY: keyB });
    expect(resolved.video).toMatchObject({ id: providerId, apiKey: providerKey });
  });

  it("keeps the checkpoint beside the sealed fields and is a no-op when run again", async () => {
    const [task] =
      await sql`select metadata -> 'clone' as clone from public.background_tasks where id = ${jobId}`;
    expect(task.clone).toMatchObject({
      checkpoint: { phase: "preflight" },
      targetMasked: expect.stringContaining("***"),
    });
    const again = rotate(keyB);
    expect(again.report.providerKeys.resealed + again.report.cloneTargets.resealed).toBe(0);
    expect(again.report.passes).toBe(1);
  });

  it("leaves no plain text of any secret in any table, nor in the providers function's log", async () => {
    for (const secret of [providerKey, targetPassword, storageKey]) {
      expect(await rowsHolding(secret), secret).toEqual([]);
    }
    const log = readFileSync(
      join(stackEnv().STORAGE_DIR, "..", "logs", "functions", "providers.log"),
      "utf8",
    );
    expect(log).not.toContain(providerKey);
  });

  it("turns a value sealed in the first format (no row binding) into the current one", async () => {
    const other = await createUser(sql);
    const legacyKey = `sk-legacy-${crypto.randomUUID()}`;
    const registered = await invoke("providers", {
      action: "register",
      providerType: "llm",
      provider: "openai",
      model: "gpt-4.1-mini",
      apiKey: legacyKey,
    }, { token: other.token });
    expect(registered.status).toBe(201);
    const id = registered.json.provider.id;
    // The first format: AES-GCM under SHA-256 of the key, no associated data, as rows sealed before v2 hold it.
    const aes = await crypto.subtle.importKey(
      "raw",
      createHash("sha256").update(keyA).digest(),
      "AES-GCM",
      false,
      ["encrypt"],
    );
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aes, new TextEncoder().encode(legacyKey)),
    );
    const legacy = {
      v: 1,
      iv: Buffer.from(iv).toString("base64"),
      data: Buffer.from(data).toString("base64"),
    };
    await sql`update public.api_providers set api_key_encrypted = ${JSON.stringify(legacy)} where id = ${id}`;

    const run = rotate(keyB, keyA);
    expect(run.report.providerKeys.unreadable).not.toContain(id);
    const [row] = await sql`select api_key_encrypted from public.api_providers where id = ${id}`;
    const resealed = parseStoredSecret(row.api_key_encrypted);
    expect(resealed).toMatchObject({ v: 2, kid: await keyIdOf(keyB) });
    expect(await createSecretBox(keyB).open(resealed, providerKeyBinding(id))).toBe(legacyKey);
  });

  it("does not open a sealed key copied onto another row", async () => {
    const thief = await createUser(sql);
    const registered = await invoke("providers", {
      action: "register",
      providerType: "video",
      provider: "runway",
      model: "gen4.5",
      apiKey: `rw-thief-${crypto.randomUUID()}`,
    }, { token: thief.token });
    const thiefRow = registered.json.provider.id;
    await sql`update public.api_providers set api_key_encrypted = (select api_key_encrypted from public.api_providers where id = ${providerId}) where id = ${thiefRow}`;
    await expect(resolveProviders(sql, thief.id, { REELFORGE_ENCRYPTION_KEY: keyB })).rejects.toMatchObject({
      code: "provider_key_unreadable",
    });
    const run = rotate(keyB, keyA, ["--dry-run"]);
    expect(run.status).toBe(1);
    expect(run.report.providerKeys.unreadable, JSON.stringify(run.report)).toContain(thiefRow);
    await sql`delete from public.api_providers where id = ${thiefRow}`;
  });

  it("refuses to start without a key, naming the settings (exit 2)", () => {
    const run = spawnSync(join(REPO, "node_modules/.bin/deno"), [
      "run",
      "-A",
      "--no-prompt",
      "--config",
      "deno.json",
      "scripts/secrets-rotate.ts",
    ], {
      cwd: REPO,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SUPABASE_DB_URL: stackEnv().DB_URL },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("REELFORGE_ENCRYPTION_KEY");
  });
});
