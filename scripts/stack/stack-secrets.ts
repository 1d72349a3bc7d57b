/**
 * The stack's keys. The JWT secret is Supabase's local default (so the anon and service keys are
 * the well-known demo HS256 keys) unless $REELFORGE_JWT_SECRET says otherwise. The ES256 key that
 * signs user access tokens, the internal secret for function-to-function calls and the encryption
 * key are random, made on first start and kept in <stack>/secrets.json.
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { generateSigningKey, type SigningKey, signJwt } from "./jwt.ts";
import type { StackLayout } from "./stack-layout.ts";

export const DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
// The expiry Supabase's demo keys carry (2032), so the default secret reproduces them exactly.
const DEMO_KEY_EXP = 1983812996;

export interface StackSecrets {
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
  internalSecret: string;
  /** Encrypts secrets at rest in the database (clone target URLs, provider keys). */
  encryptionKey: string;
  /** Signs user access tokens (ES256); its public half is the stack's JWKS. */
  signingKey: SigningKey;
  /** New-style API keys, as a new hosted project has them beside the legacy JWT keys. */
  secretKey: string;
  publishableKey: string;
}

export async function loadStackSecrets(
  layout: StackLayout,
  env: Record<string, string | undefined>,
): Promise<StackSecrets> {
  const jwtSecret = env.REELFORGE_JWT_SECRET || DEFAULT_JWT_SECRET;
  if (jwtSecret.length < 32) throw new Error("REELFORGE_JWT_SECRET must be at least 32 characters");
  return {
    jwtSecret,
    anonKey: await signJwt({ iss: "supabase-demo", role: "anon", exp: DEMO_KEY_EXP }, jwtSecret),
    serviceRoleKey: await signJwt(
      { iss: "supabase-demo", role: "service_role", exp: DEMO_KEY_EXP },
      jwtSecret,
    ),
    ...await loadOrCreateRandomSecrets(layout.secretsFile),
  };
}

/** Random secrets made on first start and kept in <stack>/secrets.json (mode 600). */
async function loadOrCreateRandomSecrets(secretsFile: string) {
  let saved: Record<string, unknown> = {};
  try {
    saved = JSON.parse(await readFile(secretsFile, "utf8"));
  } catch {
    // First start (or an unreadable file): make new ones.
  }
  const keep = (name: string) =>
    typeof saved[name] === "string" && (saved[name] as string).length >= 32
      ? saved[name] as string
      : randomHex(32);
  const keepApiKey = (name: string, prefix: string) =>
    typeof saved[name] === "string" && (saved[name] as string).startsWith(prefix)
      ? saved[name] as string
      : `${prefix}${randomHex(20)}`;
  const signingKey = isSigningKey(saved.JWT_SIGNING_KEY) ? saved.JWT_SIGNING_KEY : await generateSigningKey();
  const secrets = {
    INTERNAL_SECRET: keep("INTERNAL_SECRET"),
    ENCRYPTION_KEY: keep("ENCRYPTION_KEY"),
    JWT_SIGNING_KEY: signingKey,
    SECRET_KEY: keepApiKey("SECRET_KEY", "sb_secret_"),
    PUBLISHABLE_KEY: keepApiKey("PUBLISHABLE_KEY", "sb_publishable_"),
  };
  await writeFile(secretsFile, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  await chmod(secretsFile, 0o600);
  return {
    internalSecret: secrets.INTERNAL_SECRET,
    encryptionKey: secrets.ENCRYPTION_KEY,
    signingKey,
    secretKey: secrets.SECRET_KEY,
    publishableKey: secrets.PUBLISHABLE_KEY,
  };
}

function isSigningKey(value: unknown): value is SigningKey {
  const key = value as SigningKey | undefined;
  return typeof key?.kid === "string" && key.privateJwk?.kty === "EC" && typeof key.privateJwk.d === "string";
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}
