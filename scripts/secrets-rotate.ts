/**
 * `npm run secrets:rotate [-- --dry-run]`: re-seals every secret stored in the database (provider
 * API keys, clone targets) under REELFORGE_ENCRYPTION_KEY, opening each with it or with
 * REELFORGE_ENCRYPTION_KEY_PREVIOUS (comma-separated). Connects to SUPABASE_DB_URL, else to the
 * local stack's database. Prints a JSON report of counts and row ids, never a key or a value;
 * exits 1 when some value no configured key opens (left untouched), 2 on bad configuration.
 *
 * A rotation: set the function secrets to the new key with the old one as previous, run this
 * with the same two settings, then drop the previous key from the function secrets.
 */
import { readFileSync } from "node:fs";
import { createDb } from "../shared/db/client.ts";
import { resealStoredSecrets } from "../shared/crypto/reseal-secrets.ts";
import { createSecretBox, keyIdOf, secretKeysFromEnv } from "../shared/crypto/secret-box.ts";

function localStackDbUrl(): string | undefined {
  try {
    return JSON.parse(readFileSync(new URL("../.stack/env.json", import.meta.url), "utf8")).DB_URL;
  } catch {
    return undefined;
  }
}

const env = Deno.env.toObject();
const keys = secretKeysFromEnv(env);
const dbUrl = env.SUPABASE_DB_URL ?? localStackDbUrl();
if (!keys || !dbUrl) {
  console.error(JSON.stringify({
    error: {
      code: "not_configured",
      message:
        "set REELFORGE_ENCRYPTION_KEY (the new key), REELFORGE_ENCRYPTION_KEY_PREVIOUS (the old one) and SUPABASE_DB_URL",
    },
  }));
  Deno.exit(2);
}

let box;
try {
  box = createSecretBox(keys);
} catch (error) {
  console.error(JSON.stringify({ error: { code: "bad_key", message: (error as Error).message } }));
  Deno.exit(2);
}
const sql = createDb(dbUrl, { max: 1, applicationName: "reelforge-secrets-rotate" });
try {
  const report = await resealStoredSecrets(sql, box, { dryRun: Deno.args.includes("--dry-run") });
  const keyIds = {
    current: await keyIdOf(keys.current),
    previous: await Promise.all((keys.previous ?? []).map(keyIdOf)),
  };
  console.log(JSON.stringify({ keyIds, dryRun: Deno.args.includes("--dry-run"), ...report }, null, 2));
  if (report.providerKeys.unreadable.length + report.cloneTargets.unreadable.length > 0) Deno.exitCode = 1;
} finally {
  await sql.end({ timeout: 5 });
}
