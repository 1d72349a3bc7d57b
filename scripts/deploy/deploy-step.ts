/**
 * The SQL and HTTP steps of `scripts/deploy.sh`, one per call:
 *   deno run -A scripts/deploy/deploy-step.ts <step> (--local | --project-ref <ref>) [options]
 * Steps: link (local), secrets, bucket, functions-list, functions-served, dispatch, probe. Each
 * prints its one line, `<step>: ...`; in local mode it names the hosted command it stands for.
 * Secret values are never printed, only their fingerprints.
 */
import postgres from "postgres";
import { parseArgs } from "node:util";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { readConfiguredFunctions } from "../stack/function-registry.ts";
import { REPO_DIR, stackLayout } from "../stack/stack-layout.ts";
import { type DeployTarget, hostedTarget, localTarget } from "./deploy-target.ts";
import {
  type DeploySecrets,
  fingerprint,
  loadOrCreateSecretsFile,
  readSecretsFile,
  SECRET_NAMES,
  secretsFilePath,
  stackSecrets,
} from "./deploy-secrets.ts";
import { ensurePrivateBucket, MEDIA_BUCKET } from "./media-bucket.ts";
import { ringEmptyDoorbell } from "./doorbell-call.ts";
import { configureDispatch } from "./dispatch-settings.ts";
import { PROBE_FUNCTION, runDoorbellProbe } from "./doorbell-probe.ts";

const env = Deno.env.toObject();
const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    local: { type: "boolean", default: false },
    "project-ref": { type: "string" },
    built: { type: "string" },
    "sweep-every-ms": { type: "string" },
    "probe-timeout-s": { type: "string" },
  },
});
const step = positionals[0];
const ref = flags["project-ref"] ?? null;
const stackDir = stackLayout(env).root;

/** The hosted line, or the local one naming the hosted command it stands for. */
const say = (local: string, hosted: string, hostedCommand: string) =>
  ref ? hosted : `${local} (hosted: ${hostedCommand})`;

async function target(): Promise<DeployTarget> {
  return ref ? hostedTarget(ref, env, env.DEPLOY_API_KEYS_JSON) : await localTarget(stackDir);
}

async function secrets(): Promise<DeploySecrets> {
  return ref ? await readSecretsFile(secretsFilePath(REPO_DIR, ref)) : await stackSecrets(stackDir);
}

const fingerprints = (values: DeploySecrets) =>
  SECRET_NAMES.map((name) => `${name} ${fingerprint(values[name])}`).join(", ");

async function withDb<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres((await target()).dbUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const steps: Record<string, () => Promise<string>> = {
  // Local only: the hosted link is `supabase link`, run by deploy.sh.
  async link() {
    const t = await localTarget(stackDir);
    const health = await fetch(`${t.apiUrl}/_stack/health`).catch(() => null);
    if (!health?.ok) {
      throw new Error(
        `local stack gateway is not answering at ${t.apiUrl}: start it with npm run stack:start`,
      );
    }
    await health.body?.cancel();
    await withDb((sql) => sql`select 1`);
    return `link: local stack at ${t.apiUrl}, database ${
      new URL(t.dbUrl).host
    } (hosted: supabase link --project-ref <ref>)`;
  },

  async secrets() {
    if (ref) {
      const file = secretsFilePath(REPO_DIR, ref);
      const onProject = new Set(parseSecretNames(env.DEPLOY_REMOTE_SECRETS_JSON));
      const { secrets: values, generated } = await loadOrCreateSecretsFile(file, onProject);
      const made = generated.length > 0 ? `generated ${generated.join(", ")}` : "kept";
      return `secrets: ${relative(REPO_DIR, file)} (mode 600, ${made}): ${fingerprints(values)}`;
    }
    const t = await localTarget(stackDir);
    const values = await stackSecrets(stackDir);
    await ringEmptyDoorbell(t.functionsUrl, PROBE_FUNCTION, t.anonKey, values.REELFORGE_INTERNAL_SECRET);
    return `secrets: local stack's own (${relative(REPO_DIR, join(stackDir, "secrets.json"))}): ${
      fingerprints(values)
    }; ` +
      `${PROBE_FUNCTION} answers the doorbell with this internal secret ` +
      `(hosted: supabase secrets set --env-file supabase/.deploy/<ref>.env)`;
  },

  async bucket() {
    const t = await target();
    const outcome = await ensurePrivateBucket(t.storageUrl, t.serviceKey);
    return say(
      `buckets: ${MEDIA_BUCKET} ${
        outcome === "created" ? "created" : "exists"
      }, private, at the local Storage ${t.storageUrl}`,
      `buckets: ${MEDIA_BUCKET} ${
        outcome === "created" ? "created" : "exists"
      }, private, through the Storage API ${t.storageUrl}`,
      "the same Storage API calls on https://<ref>.supabase.co/storage/v1",
    );
  },

  // Names only, for deploy.sh's loop: every enabled function config.toml registers.
  functions() {
    return Promise.resolve(readConfiguredFunctions(REPO_DIR).map((fn) => fn.name).join("\n"));
  },

  // Each function answers its doorbell with the deploy's secret; locally, the set the gateway
  // serves is the one scripts/deploy-sets.ts just built (`--built`).
  async "functions-served"() {
    const t = await target();
    const { REELFORGE_INTERNAL_SECRET: secret } = await secrets();
    const names = readConfiguredFunctions(REPO_DIR).map((fn) => fn.name);
    const answers: string[] = [];
    for (const name of names) {
      const answer = await ringEmptyDoorbell(t.functionsUrl, name, t.anonKey, secret);
      if (flags.built) {
        await assertSameSet(join(flags.built, name), join(stackLayout(env).deploy, name), name);
      }
      answers.push(answer === "accepted" ? name : `${name} (no tasks)`);
    }
    const served = flags.built ? "served from deploy sets identical to the rebuilt ones, " : "";
    return say(
      `deploy: ${names.length} functions ${served}answering the doorbell: ${answers.join(", ")}`,
      `deploy: ${names.length} functions deployed and answering the doorbell: ${answers.join(", ")}`,
      "supabase functions deploy <f> for each, then the same doorbell calls",
    );
  },

  async dispatch() {
    const t = await target();
    const { REELFORGE_INTERNAL_SECRET: secret } = await secrets();
    // The local stack sweeps every second (stack start); a deploy must not slow it for others.
    const sweepEveryMs = Number(flags["sweep-every-ms"] ?? (ref ? 5000 : 1000));
    const { changed, secretKeptIn } = await withDb((sql) =>
      configureDispatch(sql, {
        functionsUrl: t.functionsUrl,
        apiKey: t.anonKey,
        internalSecret: secret,
        sweepEveryMs,
      })
    );
    const where = secretKeptIn === "vault" ? "in Vault" : "in engine.settings (local stack: no Vault)";
    return `dispatch: engine.configure_dispatch(${t.functionsUrl}, sweep every ${sweepEveryMs} ms, internal secret ` +
      `${fingerprint(secret)} ${where}) ${changed ? "configured" : "already so, unchanged"}` +
      (ref ? "" : " (hosted: the same call over SUPABASE_DB_URL, secret into Vault)");
  },

  async probe() {
    const timeoutMs = 1000 * Number(flags["probe-timeout-s"] ?? 30);
    const outcome = await withDb((sql) => runDoorbellProbe(sql, timeoutMs));
    const ended = outcome.status === "cancelled"
      ? "claimed by a function, then cancelled"
      : "claimed and completed";
    return `probe: task ${outcome.taskId} (deploy.probe on ${PROBE_FUNCTION}) ${ended}: the doorbell rings` +
      (ref ? "" : " (hosted: the same check)");
  },
};

/** Names from `supabase secrets list -o json` (rows with a name), or nothing. */
function parseSecretNames(json: string | undefined): string[] {
  if (!json) return [];
  const rows: unknown = JSON.parse(json);
  return Array.isArray(rows)
    ? rows.map((row) => (row as { name?: unknown }).name).filter((n): n is string => typeof n === "string")
    : [];
}

async function listFiles(dir: string): Promise<Map<string, number>> {
  const files = new Map<string, number>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(relative(dir, path), (await stat(path)).size);
    }
  }
  return files;
}

async function assertSameSet(builtDir: string, servedDir: string, name: string): Promise<void> {
  const [built, served] = [
    await listFiles(builtDir),
    await listFiles(servedDir).catch(() => new Map<string, number>()),
  ];
  const differ = [...new Set([...built.keys(), ...served.keys()])].filter((file) =>
    built.get(file) !== served.get(file)
  );
  for (const file of built.keys()) {
    if (differ.includes(file) || !served.has(file)) continue;
    const [a, b] = [await readFile(join(builtDir, file)), await readFile(join(servedDir, file))];
    if (!a.equals(b)) differ.push(file);
  }
  if (differ.length > 0) {
    throw new Error(
      `${name}: the gateway serves another set than the one built: ${differ.slice(0, 5).join(", ")}`,
    );
  }
}

try {
  if (!steps[step]) throw new Error(`unknown step "${step}": one of ${Object.keys(steps).join(", ")}`);
  if (!flags.local && !ref) throw new Error("--local or --project-ref <ref> is required");
  console.log(await steps[step]());
} catch (error) {
  console.error(`${step}: FAILED: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
}
