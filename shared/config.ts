import { z } from "zod";
import { parseProviderEndpoints } from "./provider-endpoints-config.ts";

const configSchema = z.object({
  SUPABASE_URL: z.string().url(),
  SUPABASE_ANON_KEY: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  SUPABASE_DB_URL: z.string().min(1),
  /**
   * Caller verification (shared/auth). User tokens signed with the project's asymmetric keys are
   * checked against SUPABASE_JWKS (hosted functions get it) or <SUPABASE_URL>/auth/v1/.well-known/jwks.json;
   * HS256 tokens only when the legacy JWT secret is set (REELFORGE_LEGACY_JWT_SECRET: secret names
   * may not start with SUPABASE_ on hosted; SUPABASE_JWT_SECRET is read where a platform provides it).
   */
  REELFORGE_LEGACY_JWT_SECRET: z.string().min(32).optional(),
  SUPABASE_JWT_SECRET: z.string().min(32).optional(),
  SUPABASE_JWKS: z.string().optional(),
  /** The new API keys as the platform passes them: JSON dictionaries name → key. */
  SUPABASE_SECRET_KEYS: z.string().optional(),
  SUPABASE_PUBLISHABLE_KEYS: z.string().optional(),
  /** Accepted `iss` of user tokens, comma-separated; default <SUPABASE_URL>/auth/v1. */
  REELFORGE_JWT_ISSUER: z.string().optional(),
  /** Authenticates pg_net/cron calls to /task-slice; never sent to a browser. */
  REELFORGE_INTERNAL_SECRET: z.string().min(16),
  /** Seals secrets stored in the database (provider keys, clone targets): shared/crypto/secret-box.ts. */
  REELFORGE_ENCRYPTION_KEY: z.string().min(32).optional(),
  /**
   * During a key rotation only: the earlier key(s), comma-separated, which still open what they
   * sealed until `npm run secrets:rotate` has re-sealed it under REELFORGE_ENCRYPTION_KEY.
   */
  REELFORGE_ENCRYPTION_KEY_PREVIOUS: z.string().optional(),
  /** The platform's wall clock per worker: 150 s free, 400 s paid. */
  REELFORGE_WALL_CLOCK_MS: z.coerce.number().int().positive().default(150_000),
  /** The platform's CPU limits per worker (edge-runtime's build defaults); slices budget by them. */
  REELFORGE_CPU_SOFT_LIMIT_MS: z.coerce.number().int().positive().default(1_000),
  REELFORGE_CPU_HARD_LIMIT_MS: z.coerce.number().int().positive().default(2_000),
  /** How long a claim holds a task without a heartbeat. Seconds, never hours. */
  REELFORGE_LEASE_SECONDS: z.coerce.number().int().min(2).max(600).default(30),
  /**
   * How long the signed media URLs handed to owners (status, asset actions) serve, in seconds:
   * media is private, and a URL outliving its page is a URL that can be passed around. Default 1 h.
   */
  REELFORGE_SIGNED_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(3600),
  /**
   * Operator config, never a user setting: provider API roots as JSON (provider → URL), e.g. the
   * contract fakes in tests; "1" accepts http URLs. Read by parseProviderEndpoints.
   */
  REELFORGE_PROVIDER_BASE_URLS: z.string().optional(),
  REELFORGE_ALLOW_INSECURE_PROVIDER_URLS: z.string().optional(),
  /** How often film tasks poll a running provider job (Runway asks for >= 5 s); tests set it low. */
  REELFORGE_PROVIDER_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(5_000),
  /**
   * "off": the film pipeline requires configured llm/video/audio providers (validate_providers
   * fails naming the missing ones) instead of falling back to the offline `local` providers.
   */
  REELFORGE_LOCAL_FALLBACK: z.enum(["on", "off"]).default("on"),
  /** Bucket for the film's media (clips, frames, voices, renders). */
  REELFORGE_MEDIA_BUCKET: z.string().default("media"),
  /**
   * Operator setting: the only ports a clone target may name (comma-separated). Postgres's 5432
   * and Supabase's pooler 6543 by default, so a clone cannot be aimed at other services.
   */
  REELFORGE_CLONE_ALLOWED_PORTS: z.string().default("5432,6543").transform((text, ctx) => {
    const ports = text.split(",").map((part) => part.trim()).filter((part) => part !== "").map(Number);
    if (ports.length === 0 || ports.some((port) => !Number.isInteger(port) || port < 1 || port > 65535)) {
      ctx.addIssue({ code: "custom", message: "a comma-separated list of ports (1-65535), e.g. 5432,6543" });
      return z.NEVER;
    }
    return ports;
  }),
  /**
   * Operator setting for a trusted network: clone targets (and their Storage URL) may be loopback,
   * private or CGNAT addresses, and the Storage URL may be http. Off by default.
   */
  /**
   * Operator setting: how many tables a clone copies at once. Each costs the function
   * worker one source and one target connection; 1-4, 2 by default.
   */
  REELFORGE_CLONE_CONCURRENCY: z.coerce.number().int().min(1).max(4).default(2),
  REELFORGE_CLONE_ALLOW_PRIVATE_TARGETS: z.enum(["true", "false"], {
    error: "REELFORGE_CLONE_ALLOW_PRIVATE_TARGETS must be true or false",
  }).default("false").transform((value) => value === "true"),
}).superRefine((config, ctx) => {
  try {
    parseProviderEndpoints(config);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      path: ["REELFORGE_PROVIDER_BASE_URLS"],
      message: (error as Error).message,
    });
  }
});

export type Config = z.infer<typeof configSchema>;

/** Reads and checks the function's configuration once; missing keys fail fast with their names. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid function configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
}
