/**
 * The stack's keys. The JWT secret is Supabase's local default (so the anon and service keys are
 * the well-known demo keys) unless $REELFORGE_JWT_SECRET says otherwise; the internal secret for
 * function-to-function calls is random, made on first start and kept in <stack>/secrets.json.
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { signJwt } from "./jwt.ts";
import type { StackLayout } from "./stack-layout.ts";

export const DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
// The expiry Supabase's demo keys carry (2032), so the default secret reproduces them exactly.
const DEMO_KEY_EXP = 1983812996;

export interface StackSecrets {
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
  internalSecret: string;
}

export async function loadStackSecrets(layout: StackLayout, env: Record<string, string | undefined>): Promise<StackSecrets> {
  const jwtSecret = env.REELFORGE_JWT_SECRET || DEFAULT_JWT_SECRET;
  if (jwtSecret.length < 32) throw new Error("REELFORGE_JWT_SECRET must be at least 32 characters");
  return {
    jwtSecret,
    anonKey: await signJwt({ iss: "supabase-demo", role: "anon", exp: DEMO_KEY_EXP }, jwtSecret),
    serviceRoleKey: await signJwt({ iss: "supabase-demo", role: "service_role", exp: DEMO_KEY_EXP }, jwtSecret),
    internalSecret: await loadOrCreateInternalSecret(layout.secretsFile),
  };
}

async function loadOrCreateInternalSecret(secretsFile: string): Promise<string> {
  try {
    const saved = JSON.parse(await readFile(secretsFile, "utf8"));
    if (typeof saved.INTERNAL_SECRET === "string" && saved.INTERNAL_SECRET.length >= 32) return saved.INTERNAL_SECRET;
  } catch {
    // First start (or an unreadable file): make a new one.
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const secret = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  await writeFile(secretsFile, JSON.stringify({ INTERNAL_SECRET: secret }, null, 2) + "\n", { mode: 0o600 });
  await chmod(secretsFile, 0o600);
  return secret;
}
