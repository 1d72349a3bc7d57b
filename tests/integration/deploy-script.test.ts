/**
 * `scripts/deploy.sh --local` does the whole deploy against the running stack, each platform step
 * replaced by its local equivalent, so the script's steps run on every test run. Run twice: the
 * second run changes nothing. It must not disturb the other files' tests on the same stack: it
 * keeps the stack's secrets, gateway and database. Needs a running stack (`npm run stack:start`).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connect,
  createUser,
  invoke,
  type Sql,
  stackDir,
  stackEncryptionKey,
  stackEnv,
} from "../support/stack.ts";

const REPO = join(import.meta.dirname!, "..", "..");
const env = stackEnv();
const STEPS = ["link", "push migrations", "buckets", "secrets", "deploy", "dispatch", "probe"];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bash scripts/deploy.sh ...args` with only the environment given (no tokens leak in). */
function deploy(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["scripts/deploy.sh", ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, REELFORGE_STACK_DIR: stackDir, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const lineOf = (run: Run, step: string) =>
  run.stdout.split("\n").find((line) => line.startsWith(`${step}: `));
const fingerprint = (value: string) =>
  `sha256:${createHash("sha256").update(value).digest("hex").slice(0, 12)}`;
const probeTaskId = (run: Run) => lineOf(run, "probe")?.match(/task ([0-9a-f-]{36})/)?.[1];

describe("scripts/deploy.sh --local", () => {
  let sql: Sql;
  let first: Run;
  let second: Run;
  const secretsBefore = readFileSync(join(stackDir, "secrets.json"), "utf8");

  beforeAll(async () => {
    sql = connect(1);
    first = await deploy(["--local"]);
    second = await deploy(["--local"]);
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
  });

  it("succeeds twice, printing every step's line in order, each naming the hosted step it stands for", () => {
    for (const run of [first, second]) {
      // stderr is not asserted empty: Deno may report package downloads there on a cold cache.
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/FAILED/);
      const positions = STEPS.map((step) => run.stdout.indexOf(lineOf(run, step) ?? `<no ${step} line>`));
      expect(positions.every((position) => position >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      for (const step of STEPS) expect(lineOf(run, step)).toMatch(/\(hosted: [^)]+/);
    }
    expect(lineOf(first, "link")).toContain(env.API_URL);
    expect(lineOf(first, "push migrations")).toContain("supabase migration up");
  });

  it("keeps the stack's secrets: the same internal secret in both runs, the functions and the doorbell", async () => {
    const secretLine = new RegExp(`REELFORGE_INTERNAL_SECRET ${fingerprint(env.INTERNAL_SECRET)}`);
    expect(lineOf(first, "secrets")).toMatch(secretLine);
    expect(lineOf(second, "secrets")).toMatch(secretLine);
    expect(lineOf(second, "secrets")).toContain(
      `REELFORGE_ENCRYPTION_KEY ${fingerprint(stackEncryptionKey())}`,
    );
    expect(readFileSync(join(stackDir, "secrets.json"), "utf8")).toBe(secretsBefore);
    const [{ secret }] = await sql`select engine.internal_secret() as secret`;
    expect(secret).toBe(env.INTERNAL_SECRET);
  });

  it("prints no secret, only fingerprints", () => {
    for (const run of [first, second]) {
      for (const secret of [env.INTERNAL_SECRET, stackEncryptionKey(), env.SERVICE_ROLE_KEY]) {
        expect(run.stdout + run.stderr).not.toContain(secret);
      }
    }
  });

  it("leaves migrations up to date and the media bucket private, made at most once", async () => {
    expect(second.stdout).not.toMatch(/Applying migration/);
    expect(lineOf(second, "buckets")).toMatch(/^buckets: media exists, private/);
    const response = await fetch(`${env.API_URL}/storage/v1/bucket/media`, {
      headers: { authorization: `Bearer ${env.SERVICE_ROLE_KEY}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: "media", public: false });
    const list = await fetch(`${env.API_URL}/storage/v1/bucket`, {
      headers: { authorization: `Bearer ${env.SERVICE_ROLE_KEY}` },
    });
    expect((await list.json() as { id: string }[]).filter((bucket) => bucket.id === "media")).toHaveLength(1);
  });

  it("configures the doorbell for the stack's functions, and the second run leaves it unchanged", async () => {
    const [settings] = await sql`select functions_url, api_key, sweep_every_ms from engine.settings`;
    expect(settings).toEqual({
      functions_url: env.FUNCTIONS_URL ?? `${env.API_URL}/functions/v1`,
      api_key: env.ANON_KEY,
      sweep_every_ms: 1000,
    });
    expect(lineOf(second, "dispatch")).toContain("unchanged");
  });

  it("checks each function is served from the set it rebuilt, answering the doorbell", () => {
    const line = lineOf(second, "deploy")!;
    expect(line).toContain("identical to the rebuilt ones");
    for (const name of ["assemble", "clone-database", "produce-movie", "providers", "regenerate-asset"]) {
      expect(line).toContain(name);
    }
    // The rebuilt sets went to a scratch directory beside the served ones, and are gone.
    expect(second.stdout).toMatch(/deploy sets in .*deploy-check\./);
    const scratch = second.stdout.match(/deploy sets in (\S+):/)![1];
    expect(existsSync(join(REPO, scratch))).toBe(false);
  });

  it("started a probe task each run that a function claimed, and that ended cancelled or completed", async () => {
    const ids = [probeTaskId(first), probeTaskId(second)];
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(2);
    const tasks = await sql`
      select kind, function_name, user_id, status, started_at, metadata ->> 'probe' as probe
        from public.background_tasks where id = any (${ids as string[]}::uuid[])`;
    expect(tasks).toHaveLength(2);
    for (const task of tasks) {
      expect(task).toMatchObject({ kind: "deploy.probe", function_name: "produce-movie", user_id: null });
      expect(["cancelled", "succeeded"]).toContain(task.status);
      expect(task.started_at).not.toBeNull(); // claimed: a lease was started
      expect(task.probe).toBe("claimed");
    }
  });

  it("keeps probe tasks internal: no user sees, cancels or resumes one", async () => {
    const user = await createUser();
    const taskId = probeTaskId(second)!;
    const [before] = await sql`select status, updated_at from public.background_tasks where id = ${taskId}`;
    for (const action of ["status", "cancel", "resume"]) {
      const response = await invoke("produce-movie", { action, taskId }, { token: user.token });
      expect(response.status).toBe(404);
      expect(response.json.error.code).toBe("not_found");
    }
    const [after] = await sql`select status, updated_at from public.background_tasks where id = ${taskId}`;
    expect(after).toEqual(before);
  });
});

describe("scripts/deploy.sh --project-ref (hosted) without what it needs", () => {
  const ref = "abcdefghijklmnopqrst";
  const secretsFile = join(REPO, "supabase", ".deploy", `${ref}.env`);

  it("refuses without SUPABASE_ACCESS_TOKEN and SUPABASE_DB_URL, naming them, and does nothing", async () => {
    const run = await deploy(["--project-ref", ref]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("nothing done");
    expect(run.stderr).toContain("SUPABASE_ACCESS_TOKEN");
    expect(run.stderr).toContain("SUPABASE_DB_URL");
    expect(run.stdout).toBe("");
    expect(existsSync(secretsFile)).toBe(false);
  });

  it("refuses without a project ref even with a token", async () => {
    const run = await deploy(["--project-ref"], {
      SUPABASE_ACCESS_TOKEN: "sbp_not_a_real_token",
      SUPABASE_DB_URL: env.DB_URL,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/project ref/);
    expect(run.stderr).not.toContain("SUPABASE_ACCESS_TOKEN");
    expect(run.stdout).toBe("");
  });

  it("refuses without a target at all", async () => {
    const run = await deploy([]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--project-ref <ref>.*--local/);
    expect(run.stdout).toBe("");
  });
});
