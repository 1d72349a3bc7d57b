/**
 * The render worker's configuration, read once from an env object. On a developer machine the
 * local stack's env.json fills in what the environment leaves out (see stackDefaults). Media goes
 * through Supabase Storage's HTTP API with the service role, as in functions.
 */
import { z } from "zod";

const workerConfigSchema = z.object({
  SUPABASE_DB_URL: z.string().min(1),
  SUPABASE_URL: z.string({ error: "SUPABASE_URL is required (Storage is reached over its API)" }).url(),
  SUPABASE_SERVICE_ROLE_KEY: z.string({
    error: "SUPABASE_SERVICE_ROLE_KEY is required (Storage is reached over its API)",
  }).min(1),
  /** The bucket of users' files, as the functions' REELFORGE_MEDIA_BUCKET: a job reads its owner's only. */
  REELFORGE_MEDIA_BUCKET: z.string().min(1).default("media"),
  REELFORGE_LEASE_SECONDS: z.coerce.number().int().min(2).max(600).default(30),
  REELFORGE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Comma-separated kinds to claim; all the worker has handlers for when empty. */
  REELFORGE_WORKER_KINDS: z.string().optional(),
});

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const parsed = workerConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid render worker configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** The local stack's env.json (written by `stack start`) as worker env keys: its database and API. */
export function stackDefaults(stackEnv: Record<string, string>): Record<string, string> {
  return {
    SUPABASE_DB_URL: stackEnv.DB_URL,
    SUPABASE_URL: stackEnv.API_URL,
    SUPABASE_SERVICE_ROLE_KEY: stackEnv.SERVICE_ROLE_KEY,
  };
}
