/**
 * The seed's use case end to end: this project's own `public` schema, filled by a real film made
 * with the contract fakes, cloned with the default options through the clone-database function
 * on the stack into fresh databases.
 *
 * `public` uses objects of other schemas that the clone does not make (a `pg_dump -n public`
 * would not either): auth.users and auth.uid() (the platform's), engine.* and asset_admin.*
 * trigger and index functions (Reelforge's internal schemas, never cloned). A bare database is
 * therefore refused at start, naming them; a database that has them, as a project deployed from
 * these migrations would (made here from the source's own dump of those schemas), gets the clone.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTargetDatabase } from "../support/clone-db.ts";
import {
  briefFor,
  type FilmRig,
  filmUser,
  QUICK_LATENCIES,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import { createOperatorUser, invoke, stackEnv, type TestUser, waitForStatus } from "../support/stack.ts";

const pgBin = "/usr/lib/postgresql/15/bin";
const SHAPE = { scenes: 2, chains: [] };
const TITLE = "Harbour Copy";

let rig: FilmRig;
let operator: TestUser;
const targets: Array<{ drop(): Promise<void> }> = [];

async function newTarget() {
  const target = await createTargetDatabase("clone_own");
  targets.push(target);
  return target;
}

const clone = (body: Record<string, unknown>) => invoke("clone-database", body, { token: operator.token });

/** The URL of `database` on the stack's cluster as its superuser. */
const adminUrl = (database: string) =>
  Object.assign(new URL(stackEnv().ADMIN_DB_URL), { pathname: `/${database}` }).href;

const dumpOf = (args: string[]) =>
  execFileSync(`${pgBin}/pg_dump`, [...args, `--dbname=${stackEnv().ADMIN_DB_URL}`], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });

/**
 * What a project deployed from these migrations has outside what the clone makes: the source's
 * auth, engine and asset_admin schemas, its users (the foreign keys' rows) and the platform's
 * default privileges in public (`for role supabase_admin`, which only that role may set).
 * Restored as the platform would, by the superuser; the few functions whose signatures name
 * public's types cannot exist before public does and are left out (psql goes on past them):
 * nothing in public uses them.
 */
function giveWhatPublicUses(database: string) {
  const schemas = dumpOf([
    "--schema-only",
    ...["auth", "engine", "asset_admin"].flatMap((s) => ["--schema", s]),
  ]);
  const users = dumpOf(["--data-only", "--table", "auth.users"]);
  const platformDefaults = dumpOf(["--schema-only", "--schema", "public"]).split("\n")
    .filter((line) => /^ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public /.test(line)).join(
      "\n",
    );
  execFileSync("psql", ["-q", `--dbname=${adminUrl(database)}`], {
    input: `${schemas}\n${users}\n${platformDefaults}\n`,
    stdio: "pipe",
  });
}

/**
 * pg_dump's schema-only `public` as its entries (one per object, split at its `-- Name:` headers),
 * each without comments, blank lines, session settings and ownership (the target's objects belong
 * to the role the clone connects as, whoever owned them on the source), sorted: pg_dump breaks ties in its
 * dependency sort by catalog order, which follows creation order (the source's migrations' order
 * here, the clone's phases there), not anything the schema says.
 */
function publicSchema(url: string): string[] {
  const dump = execFileSync(`${pgBin}/pg_dump`, ["--schema-only", "--schema", "public", `--dbname=${url}`], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return dump.split(/^-- Name: .*$/m).map((entry) => {
    const lines = entry.split("\n").filter((line) =>
      line.trim() !== "" && !line.startsWith("--") && !/^\\(un)?restrict /.test(line) &&
      !/^ALTER .* OWNER TO .*;$/.test(line) && !/^SET \w+ = /.test(line)
    );
    // An object's grants come out in the order they were made, which is not part of the schema.
    return (lines.every((line) => /^(GRANT|REVOKE) /.test(line)) ? lines.sort() : lines).join("\n");
  }).filter((entry) => entry !== "").sort();
}

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  const owner = await filmUser(rig, SHAPE, TITLE);
  const { movieId } = await startFilm(owner, briefFor(SHAPE, TITLE));
  const movie = await waitForFilm(rig.sql, movieId, 180_000);
  expect(movie.status, movie.error_message).toBe("completed");
  operator = await createOperatorUser();
}, 300_000);

afterAll(async () => {
  for (const target of targets) await target.drop();
  await rig?.close();
});

describe("cloning this project's own public schema", () => {
  it("refuses a bare database at start, naming what public uses that it lacks, and creates no job", async () => {
    const target = await newTarget();
    const jobs = async () =>
      (await rig.sql`select count(*)::int as n from public.background_tasks where kind = 'clone.database'`)[0]
        .n;
    const before = await jobs();
    const start = await clone({ action: "start", targetUrl: target.url });
    expect(start.status, start.text).toBe(422);
    expect(start.json.error.code).toBe("target_cannot_host");
    const objects = start.json.error.details.objects as { object: string; neededBy: string[] }[];
    expect(objects.map((o) => o.object)).toEqual(expect.arrayContaining([
      "table auth.users",
      "function auth.uid()",
      "function engine.touch_updated_at()",
      "function asset_admin.object_of(text)",
    ]));
    expect(objects.find((o) => o.object === "function asset_admin.object_of(text)")?.neededBy).toEqual([
      expect.stringMatching(/^index public\.movie_scenes_/),
    ]);
    expect(await jobs()).toBe(before);
    expect(publicSchema(target.url).filter((entry) => entry.includes("CREATE TABLE"))).toEqual([]);
  });

  describe("into a database that has what public uses", () => {
    let target: Awaited<ReturnType<typeof newTarget>>;
    let jobId: string;
    // pg_cron's pg_extension row names public, but nothing in public uses it. The target may not
    // have it: it is not trusted (the stack's `postgres` is no superuser) and only the database
    // cron.database_name names may have it, which a fresh database is not.
    const pgCron = {
      object: "extension pg_cron",
      reason: expect.stringMatching(
        /permission denied to create extension|can only create extension in database/,
      ),
      skipped: true,
    };

    beforeAll(async () => {
      target = await newTarget();
      giveWhatPublicUses(target.name);
      const start = await clone({ action: "start", targetUrl: target.url });
      expect(start.status, start.text).toBe(202);
      expect(start.json.warnings).toEqual([pgCron]);
      jobId = start.json.jobId;
      await waitForStatus(rig.sql, jobId, ["succeeded", "failed"], 180_000);
    }, 240_000);

    it("builds a public schema whose pg_dump --schema-only entries are the source's but for owners", async () => {
      const { job } = (await clone({ action: "status", jobId })).json;
      expect(job.completedPhases).toEqual(expect.arrayContaining(["types", "schema", "data", "post_data"]));
      expect(job.warnings).toEqual([pgCron]);
      const source = publicSchema(stackEnv().DB_URL);
      expect(source.some((entry) => entry.startsWith("CREATE TABLE public.movies ("))).toBe(true);
      expect(publicSchema(target.url)).toEqual(source);
    });

    // The job's own row and steps in public.background_tasks change while it runs: the copy and
    // the verification leave them out (own-job-rows.ts); every other row is compared.
    it("succeeds: every table's rows verified equal", async () => {
      const { job } = (await clone({ action: "status", jobId })).json;
      expect(job.mismatches).toEqual([]);
      expect(job.status).toBe("succeeded");
      expect(job.lastError).toBeNull();
    });
  });
});
