/**
 * The film test rig: every provider fake in this process (at fixed latencies, real media), the
 * gateway's function env pointed at them (REELFORGE_PROVIDER_BASE_URLS, http allowed, a short
 * poll interval) and restored afterwards, a user whose registered providers are those fakes, and
 * helpers to start a film, wait for it and read back every table it wrote.
 */
import type { Row } from "postgres";
import { afterAll, afterEach, beforeAll } from "vitest";
import {
  FAKE_API_KEYS,
  type FakeProvider,
  type Fakes,
  type FilmLatencies,
  startFakes,
} from "../fakes/start-fakes.ts";
import { durationMinutesFor, filmAnswers, type FilmShape } from "./film-script.ts";
import { admin, connect, createUser, invoke, type Sql, stackEnv, type TestUser, waitFor } from "./stack.ts";

/** Latencies that keep a 12-scene film around half a minute while dwarfing the orchestration overhead. */
export const TEST_LATENCIES: FilmLatencies = {
  llm: 200,
  image: 800,
  video: 2500,
  voice: 600,
  lipsync: 1000,
  music: 1500,
};

/** Short latencies for files that check what a film makes, not when (no test times anything). */
export const QUICK_LATENCIES: FilmLatencies = {
  llm: 50,
  image: 200,
  video: 500,
  voice: 200,
  lipsync: 300,
  music: 300,
};

export const FAKE_MODELS: Record<
  "llm" | "video" | "image" | "audio" | "lipsync" | "music",
  { provider: FakeProvider; model: string }
> = {
  llm: { provider: "openai", model: "gpt-4.1-mini" },
  video: { provider: "runway", model: "gen4.5" },
  image: { provider: "fal", model: "fal-ai/flux/schnell" },
  audio: { provider: "elevenlabs", model: "eleven_flash_v2_5" },
  lipsync: { provider: "sync", model: "lipsync-2" },
  music: { provider: "beatoven", model: "maestro" },
};
export type FakeType = keyof typeof FAKE_MODELS;

export const FILM_FUNCTIONS = ["produce-movie", "generate-scene-video", "generate-audio", "assemble"];

/** Function env keys the rig sets; their previous values come back in restore(). */
const FILM_ENV_KEYS = [
  "REELFORGE_PROVIDER_BASE_URLS",
  "REELFORGE_ALLOW_INSECURE_PROVIDER_URLS",
  "REELFORGE_PROVIDER_POLL_MS",
  "REELFORGE_LOCAL_FALLBACK",
] as const;

export interface FilmRig {
  sql: Sql;
  fakes: Fakes;
  /** Users made by filmUser: their unfinished films are cancelled on close. */
  users: TestUser[];
  /**
   * Throws if the function env no longer points at this rig's fakes — another test run on the
   * shared stack changed it, and a film's 404s would be that run's doing, not the pipeline's.
   */
  checkEnvIntact(): Promise<void>;
  /** Changes function env keys (null removes one) and kills the workers so fresh ones read it. */
  setEnv(env: Record<string, string | null>): Promise<void>;
  close(): Promise<void>;
}

/**
 * A film rig for one test file: started before its tests (handed to `started`), checked after
 * each that the stack's env is as it was, closed after them all.
 */
export function withFilmRig(
  options: Parameters<typeof startFilmRig>[0],
  started: (rig: FilmRig) => void,
): void {
  let rig: FilmRig | undefined;
  beforeAll(async () => {
    rig = await startFilmRig(options);
    started(rig);
  });
  afterEach(async () => {
    await rig?.checkEnvIntact();
  });
  afterAll(async () => {
    await rig?.close();
  });
}

/** The submissions each provider fake has taken so far, by provider. */
export function paidByProvider(rig: FilmRig): Record<string, number> {
  return Object.fromEntries(Object.entries(rig.fakes.submissions()).map(([p, c]) => [p, c.total]));
}

export async function startFilmRig(
  options: { latencies?: FilmLatencies; pollMs?: number; env?: Record<string, string | null> } = {},
): Promise<FilmRig> {
  const sql = connect(6);
  const fakes = await startFakes();
  fakes.configureFilm(options.latencies ?? TEST_LATENCIES);
  const before = (await admin("config")) as { env?: Record<string, string> };
  const previous = Object.fromEntries(FILM_ENV_KEYS.map((key) => [key, before.env?.[key] ?? null]));
  const setEnv = async (env: Record<string, string | null>) => {
    await admin("config", { env });
    await admin("workers/kill", {});
    // Fresh workers cold-start in about a second and a half; pay that here, not inside a film's time.
    await Promise.all([...FILM_FUNCTIONS, "providers"].map((fn) => invoke(fn, {})));
  };
  const baseUrls = JSON.stringify(fakes.baseUrls());
  const users: TestUser[] = [];
  await setEnv({
    REELFORGE_PROVIDER_BASE_URLS: baseUrls,
    REELFORGE_ALLOW_INSECURE_PROVIDER_URLS: "1",
    REELFORGE_PROVIDER_POLL_MS: String(options.pollMs ?? 100),
    ...options.env,
  });
  return {
    sql,
    fakes,
    users,
    setEnv,
    async checkEnvIntact() {
      const now = (await admin("config")) as { env?: Record<string, string> };
      if (now.env?.REELFORGE_PROVIDER_BASE_URLS !== baseUrls) {
        throw new Error(
          "another test run on this stack changed REELFORGE_PROVIDER_BASE_URLS during the film: its results are void; run film tests alone",
        );
      }
    },
    async close() {
      // A film left running would call fakes that are gone (404s) and compete with later tests.
      const ids = users.map((u) => u.id);
      await sql`
        select engine.cancel_task(task_id, 'film test ended') from public.movies
         where user_id = any(${ids}::uuid[]) and status in ('pending', 'processing') and task_id is not null`
        .catch(() => {});
      await setEnv(previous).catch(() => {});
      await fakes.close();
      await sql.end();
    },
  };
}

/** Registers the user's providers for `types` (default all six) at the fakes, render on the worker. */
export async function registerFakeProviders(
  user: TestUser,
  types: FakeType[] = Object.keys(FAKE_MODELS) as FakeType[],
  concurrencyLimit = 8,
) {
  for (const type of types) {
    const { provider, model } = FAKE_MODELS[type];
    const answer = await invoke("providers", {
      action: "register",
      providerType: type,
      provider,
      model,
      apiKey: FAKE_API_KEYS[provider],
      concurrencyLimit,
    }, { token: user.token });
    if (answer.status !== 201) {
      throw new Error(`register ${type}/${provider}: ${answer.status} ${answer.text}`);
    }
  }
  const render = await invoke("providers", {
    action: "register",
    providerType: "render",
    provider: "worker",
    model: "ffmpeg",
    concurrencyLimit,
  }, { token: user.token });
  if (render.status !== 201) throw new Error(`register render/worker: ${render.status} ${render.text}`);
}

/** Registers the Openverse fake as the user's search provider (optional: no film test needs one). */
export async function registerFakeSearch(user: TestUser, concurrencyLimit = 8) {
  const answer = await invoke("providers", {
    action: "register",
    providerType: "search",
    provider: "openverse",
    model: "openverse",
    apiKey: FAKE_API_KEYS.openverse,
    concurrencyLimit,
  }, { token: user.token });
  if (answer.status !== 201) throw new Error(`register search/openverse: ${answer.status} ${answer.text}`);
}

/**
 * Registers the fakes as the project's default providers (the service role's `providers/defaults`),
 * whose concurrency an operator may set up to 100 — a user's own keys are capped at 10. Returns
 * a function that deactivates them again.
 */
export async function registerFakeDefaults(concurrencyLimit: number): Promise<() => Promise<void>> {
  const asService = { token: stackEnv().SERVICE_ROLE_KEY, path: "/defaults" };
  const ids: string[] = [];
  for (const [type, { provider, model }] of Object.entries(FAKE_MODELS)) {
    const answer = await invoke("providers", {
      action: "register",
      providerType: type,
      provider,
      model,
      apiKey: FAKE_API_KEYS[provider],
      concurrencyLimit,
    }, asService);
    if (answer.status !== 201) {
      throw new Error(`register default ${type}/${provider}: ${answer.status} ${answer.text}`);
    }
    ids.push(answer.json.provider.id);
  }
  return async () => {
    for (const id of ids) await invoke("providers", { action: "deactivate", id }, asService);
  };
}

export interface FilmBriefInput {
  title: string;
  prompt: string;
  genre: string;
  durationMinutes: number;
  orientation?: "landscape" | "portrait";
}

export function briefFor(shape: FilmShape, title: string): FilmBriefInput {
  return {
    title,
    prompt: "A harbour pilot follows a smuggler's light through one long night.",
    genre: "thriller",
    durationMinutes: durationMinutesFor(shape),
  };
}

/** A new user with the fakes registered, the LLM fake answering for `shape`. */
export async function filmUser(
  rig: FilmRig,
  shape: FilmShape,
  title: string,
  types?: FakeType[],
  concurrencyLimit?: number,
): Promise<TestUser> {
  const user = await createUser(rig.sql);
  rig.users.push(user);
  await registerFakeProviders(user, types, concurrencyLimit);
  rig.fakes.openai.answerWith(filmAnswers(shape, title));
  return user;
}

export async function startFilm(user: TestUser, brief: FilmBriefInput) {
  const answer = await invoke("produce-movie", { action: "start", ...brief }, { token: user.token });
  if (answer.status !== 202) throw new Error(`produce-movie start: ${answer.status} ${answer.text}`);
  return answer.json as { movieId: string; taskId: string; [key: string]: unknown };
}

export const FILM_DONE = ["completed", "failed", "cancelled"];

/** Waits for the movie row to reach an end state (the produce task is its only writer of status). */
export async function waitForFilm(sql: Sql, movieId: string, timeoutMs = 180_000) {
  return await waitFor(async () => {
    const [movie] = await sql`select * from public.movies where id = ${movieId}`;
    return movie && FILM_DONE.includes(movie.status) ? movie : null;
  }, { timeoutMs, everyMs: 250, what: `movie ${movieId} to end` });
}

/** Everything a film wrote, in a stable order. */
export async function readFilm(sql: Sql, movieId: string) {
  const [movie] = await sql`select * from public.movies where id = ${movieId}`;
  const scenes = await sql<SceneRow[]>`
    select * from public.movie_scenes where movie_id = ${movieId} order by scene_number`;
  const audio =
    await sql`select * from public.scene_audio where movie_id = ${movieId} order by scene_number, line_index`;
  const shots = await sql`
    select s.scene_number, h.* from public.scene_shots h join public.movie_scenes s on s.id = h.scene_id
     where h.movie_id = ${movieId} order by s.scene_number, h.shot_number`;
  const [progress] = await sql`select * from public.movie_creation_progress where movie_id = ${movieId}`;
  const metrics =
    await sql`select * from public.movie_step_metrics where movie_id = ${movieId} order by started_at`;
  const [script] = await sql`select * from public.scripts where movie_id = ${movieId}`;
  const [bible] = await sql`select * from public.visual_bibles where movie_id = ${movieId}`;
  const tasks = await sql`
    with recursive tree as (
      select * from public.background_tasks where id = ${movie.task_id}
      union all
      select t.* from public.background_tasks t join tree on t.parent_id = tree.id)
    select * from tree order by created_at`;
  return { movie, scenes, audio, shots, progress, metrics, script, bible, tasks };
}
export type FilmRecord = Awaited<ReturnType<typeof readFilm>>;

/** A movie_scenes row: the URL columns typed (timelineUrlOf takes them), the rest as postgres.js reads them. */
type SceneRow = Row & { clip_url: string | null; video_url: string | null; lipsync_url: string | null };
