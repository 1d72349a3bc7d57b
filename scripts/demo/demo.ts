/**
 * `npm run demo`: a real film made offline on the local stack, the way a front end would make it —
 * a signed-in user calls produce-movie through supabase-js (the typed client in shared/client) and
 * follows its `status` — with the offline `local` providers (the project defaults) and the render
 * worker's FFmpeg. Draws a bar per pipeline step and a line per scene while it works, then writes
 * an HTML report (scripts/demo/report-*.ts) and prints where the film, poster and report are.
 * `--chaos` kills the film functions' workers at random meanwhile and lists the kills in the report.
 *
 * Run by scripts/demo.sh, which installs what is missing and starts the stack if it is not running.
 */
import { createClient } from "@supabase/supabase-js";
import { join, resolve } from "node:path";
import {
  createReelforgeClient,
  type MovieStatus,
  ReelforgeError,
  watchMovie,
} from "../../shared/client/index.ts";
import { createDb } from "../../shared/db/client.ts";
import { createSupabaseStorage } from "../../shared/storage/supabase-storage.ts";
import { REPO_DIR } from "../stack/stack-layout.ts";
import { type DemoOptions, DemoUsageError, parseDemoArgs, USAGE } from "./demo-options.ts";
import { createProgressView, progressLines } from "./demo-progress.ts";
import { startChaos } from "./demo-chaos.ts";
import { collectReport } from "./report-data.ts";
import { renderReport } from "./report-html.ts";

interface StackEnv {
  API_URL: string;
  DB_URL: string;
  ANON_KEY: string;
  SERVICE_ROLE_KEY: string;
}

/** Provider jobs of the local providers take seconds: poll them every half second, not every five. */
const DEMO_ENV = { REELFORGE_PROVIDER_POLL_MS: "500" };
const FILM_FUNCTIONS = ["produce-movie", "generate-scene-video", "generate-audio", "assemble"];

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(Deno.args);
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  const stackDir = Deno.env.get("REELFORGE_STACK_DIR") || join(REPO_DIR, ".stack");
  const stack = JSON.parse(await Deno.readTextFile(join(stackDir, "env.json"))) as StackEnv;
  const admin = adminApi(stack);
  const sql = createDb(stack.DB_URL, { max: 2, applicationName: "reelforge-demo" });
  const before = await admin("config") as { env?: Record<string, string> };
  const restoreEnv = Object.fromEntries(Object.keys(DEMO_ENV).map((key) => [key, before.env?.[key] ?? null]));
  try {
    await admin("config", { env: DEMO_ENV });
    await Promise.all(FILM_FUNCTIONS.map((fn) => admin("workers/kill", { function: fn })));

    // A demo user signs up through the stack's Auth as a front end would; supabase-js then sends
    // its ES256 access token with every call (and refreshes it on a long run).
    const supabase = createClient(stack.API_URL, stack.ANON_KEY, {
      auth: { persistSession: false, autoRefreshToken: true },
    });
    const signUp = await supabase.auth.signUp({
      email: `demo-${Date.now()}@reelforge.local`,
      password: crypto.randomUUID(),
    });
    if (signUp.error || !signUp.data.session) {
      throw new Error(`demo sign-up failed: ${signUp.error?.message ?? "no session"}`);
    }
    const client = createReelforgeClient(supabase);

    // The project defaults cover llm, video, image, audio and render; music and lip sync are the
    // user's own choice (no music provider, no music) — the demo picks the local ones.
    for (const providerType of ["music", "lipsync"] as const) {
      await client.providers.register({ providerType, provider: "local", model: "local" });
    }

    console.log(
      `Reelforge demo: "${options.title}", a ${options.minutes}-minute film, local providers${
        options.chaos ? ", chaos: killing workers at random" : ""
      }`,
    );
    const brief = {
      title: options.title,
      prompt: options.prompt,
      genre: options.genre,
      durationMinutes: options.minutes,
      orientation: options.orientation,
    };
    // What the film should cost, asked first: the report shows it beside what was spent.
    const quote = await client.movies.quote(brief);
    const { movieId } = await client.movies.start(brief);
    console.log(`movie ${movieId}\n`);

    const chaos = options.chaos ? startChaos(admin, FILM_FUNCTIONS) : null;
    const view = createProgressView(
      (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
      Deno.stdout.isTerminal(),
    );
    const timeout = AbortSignal.timeout(options.timeoutSeconds * 1000);
    const watch = watchMovie(
      client,
      movieId,
      (status: MovieStatus) => view.draw(progressLines(status, chaos?.kills.length ?? 0)),
      { intervalMs: 1000, signal: timeout },
    );
    const final = await watch.done;
    const kills = chaos ? await chaos.stop() : [];
    if (!final || timeout.aborted) {
      console.error(
        `\nthe film did not end within ${options.timeoutSeconds} s; it keeps its state: resume it with produce-movie { action: "resume", movieId: "${movieId}" }`,
      );
      return 1;
    }

    const outDir = resolve(options.out ?? join(REPO_DIR, "demo-output", movieId));
    console.log(`\n${final.movie.status}: writing the report…`);
    const storage = createSupabaseStorage({
      supabaseUrl: stack.API_URL,
      serviceRoleKey: stack.SERVICE_ROLE_KEY,
      sql,
    });
    const report = await collectReport(sql, movieId, { outDir, kills, storage, quote });
    const page = await renderReport(report, outDir);
    await Deno.writeTextFile(join(outDir, "report.json"), JSON.stringify(report, null, 2));
    console.log(`\nfilm:   ${report.film.videoFile ? join(outDir, report.film.videoFile) : "(none)"}`);
    console.log(`poster: ${report.film.posterFile ? join(outDir, report.film.posterFile) : "(none)"}`);
    console.log(`report: ${page}`);
    if (kills.length) {
      console.log(
        `chaos:  ${kills.length} workers killed; the film ${
          final.movie.status === "completed" ? "completed anyway" : `ended ${final.movie.status}`
        }`,
      );
    }
    if (final.movie.status !== "completed") {
      console.error(`the film ended ${final.movie.status}: ${final.movie.errorMessage ?? "see the report"}`);
    }
    return final.movie.status === "completed" ? 0 : 1;
  } catch (error) {
    if (error instanceof ReelforgeError) {
      console.error(
        `\n${error.functionName ?? "function"} ${
          error.action ?? ""
        }: ${error.status} ${error.code}: ${error.message}`,
      );
      return 1;
    }
    throw error;
  } finally {
    await admin("config", { env: restoreEnv }).catch(() => {});
    await sql.end();
  }
}

function adminApi(stack: StackEnv) {
  return async (path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${stack.API_URL}/_stack/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${stack.SERVICE_ROLE_KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      throw new Error(`local stack admin ${path}: ${response.status} ${await response.text()}`);
    }
    return await response.json();
  };
}

export type AdminApi = ReturnType<typeof adminApi>;

Deno.exit(await main());
