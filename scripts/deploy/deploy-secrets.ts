/**
 * The deploy's own secrets, generated once and kept: REELFORGE_INTERNAL_SECRET (the doorbell's
 * credential, in the functions' secrets and in Vault) and REELFORGE_ENCRYPTION_KEY (seals clone
 * targets and provider keys). Hosted: a per-project env file outside git (supabase/.deploy/<ref>.env,
 * mode 600); local: the stack's own (<stack>/secrets.json). Values are never printed: fingerprints are.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";

export const SECRET_NAMES = ["REELFORGE_INTERNAL_SECRET", "REELFORGE_ENCRYPTION_KEY"] as const;
export type DeploySecrets = Record<(typeof SECRET_NAMES)[number], string>;

/** A short, one-way name for a secret's value, safe to print and compare across runs. */
export function fingerprint(value: string): string {
  return `sha256:${createHash("sha256").update(value).digest("hex").slice(0, 12)}`;
}

/** The hosted project's secrets file; `supabase secrets set --env-file` reads it as it is. */
export function secretsFilePath(repoDir: string, ref: string): string {
  return join(repoDir, "supabase", ".deploy", `${ref}.env`);
}

/**
 * Reads the file and adds only what it lacks. `alreadyOnProject` names the secrets the project
 * has set already: a missing encryption key that the project has is not made up (a new one would
 * leave everything sealed with the old one unreadable); its value has to be put in the file.
 */
export async function loadOrCreateSecretsFile(
  file: string,
  alreadyOnProject: ReadonlySet<string>,
): Promise<{ secrets: DeploySecrets; generated: string[] }> {
  const text = await readFile(file, "utf8").catch(() => "");
  const saved = parseEnvFile(text);
  const generated: string[] = [];
  for (const name of SECRET_NAMES) {
    if (saved.has(name)) continue;
    if (name === "REELFORGE_ENCRYPTION_KEY" && alreadyOnProject.has(name)) {
      throw new Error(
        `the project already has ${name}, and ${file} does not: a new key would make every sealed secret unreadable. ` +
          `Put the current value in ${file} as ${name}=<value> (or re-seal with npm run secrets:rotate first)`,
      );
    }
    saved.set(name, randomBytes(32).toString("hex"));
    generated.push(name);
  }
  if (generated.length > 0) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const kept = text.length > 0 && !text.endsWith("\n") ? `${text}\n` : text;
    await writeFile(file, kept + generated.map((name) => `${name}=${saved.get(name)}\n`).join(""), {
      mode: 0o600,
    });
  }
  await chmod(file, 0o600);
  return {
    secrets: Object.fromEntries(SECRET_NAMES.map((name) => [name, saved.get(name)!])) as DeploySecrets,
    generated,
  };
}

/** The file as the secrets step left it; throws if it lacks one (run the whole deploy). */
export async function readSecretsFile(file: string): Promise<DeploySecrets> {
  const saved = parseEnvFile(await readFile(file, "utf8").catch(() => ""));
  const missing = SECRET_NAMES.filter((name) => !saved.has(name));
  if (missing.length > 0) throw new Error(`${file} lacks ${missing.join(", ")}: the secrets step makes them`);
  return Object.fromEntries(SECRET_NAMES.map((name) => [name, saved.get(name)!])) as DeploySecrets;
}

/** The local stack's secrets: what `stack start` made once and hands every function. */
export async function stackSecrets(stackDir: string): Promise<DeploySecrets> {
  const env = JSON.parse(await readFile(join(stackDir, "env.json"), "utf8"));
  const kept = JSON.parse(await readFile(join(stackDir, "secrets.json"), "utf8"));
  return { REELFORGE_INTERNAL_SECRET: env.INTERNAL_SECRET, REELFORGE_ENCRYPTION_KEY: kept.ENCRYPTION_KEY };
}

/** NAME=value lines; blank lines and # comments skipped, optional quotes removed. */
function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
    if (!match || match[2] === "") continue;
    values.set(match[1], match[2].replace(/^(['"])(.*)\1$/, "$2"));
  }
  return values;
}
