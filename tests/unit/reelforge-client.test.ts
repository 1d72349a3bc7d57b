/**
 * The front-end client (shared/client) over the real supabase-js: its functions.invoke runs with a
 * fetch that records what is sent, or hands the request to a function's real Hono app, so bodies,
 * errors and FunctionsHttpError are the library's own. No stack: nothing here reaches a database.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createClient, FunctionsHttpError } from "@supabase/supabase-js";
import { describe, expect, it, vi } from "vitest";
import { legacyUserToken, TEST_AUTH_ENV } from "../support/test-tokens.ts";
import type {
  AssetDraft as ServerAssetDraft,
  AssetTarget as ServerAssetTarget,
  RegenerateKind,
} from "../../shared/assets/asset-target.ts";
import type { describeClone, Phase } from "../../shared/clone/clone-state.ts";
import type { TaskStatus as ServerTaskStatus } from "../../shared/engine/task-row.ts";
import type { describeTask } from "../../shared/http/task-actions.ts";
import type { RegistrationInput } from "../../shared/providers/registry/provider-config.ts";
import type { ProviderRow as ServerProviderRow } from "../../shared/providers/registry/provider-store.ts";
import type { ProviderType as ServerProviderType } from "../../shared/providers/types.ts";
import {
  type AssetDraft,
  type AssetKind,
  type AssetTarget,
  type CloneJob,
  type ClonePhase,
  createReelforgeClient,
  FILM_STEPS,
  type FilmStep,
  type MovieState,
  type MovieStatus,
  type ProviderRow,
  type ProviderType,
  type RealtimeChannelLike,
  type ReelforgeClient,
  ReelforgeError,
  type ReelforgeSupabase,
  type RegisterProviderInput,
  type TaskStatus,
  type TaskView,
  watchMovie,
} from "../../shared/client/index.ts";
import {
  FILM_STEPS as SERVER_FILM_STEPS,
  type FilmStep as ServerFilmStep,
} from "../../shared/film/film-progress.ts";
import { produceMovieActions } from "../../shared/film/film-actions.ts";
import { buildFunction } from "../../shared/http/build-function.ts";
import { buildProvidersFunction } from "../../shared/providers/registry/providers-function.ts";

// Compile time: the client declares its wire types apart from the server's code (which a browser
// cannot load), so deno check of this file (deno-check.test.ts) is what fails when they drift:
// the same unions, and the same fields where the server's answers are typed.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type SameKeys<A, B> = Equal<keyof A, keyof B>;
type CloneTaskFields =
  | "taskId"
  | "jobId"
  | "status"
  | "progress"
  | "lastError"
  | "attempts"
  | "createdAt"
  | "updatedAt"
  | "finishedAt";
export const wireTypesMatchTheServer: true[] = [
  true as Equal<TaskStatus, ServerTaskStatus>,
  true as Equal<FilmStep, ServerFilmStep>,
  true as Equal<AssetKind, RegenerateKind>,
  true as Equal<ClonePhase, Phase>,
  true as Equal<ProviderType, ServerProviderType>,
  true as SameKeys<TaskView, ReturnType<typeof describeTask>>,
  true as SameKeys<Omit<CloneJob, CloneTaskFields>, ReturnType<typeof describeClone>>,
  true as SameKeys<ProviderRow, ServerProviderRow>,
  true as SameKeys<RegisterProviderInput, RegistrationInput>,
  true as SameKeys<AssetTarget, ServerAssetTarget>,
  true as SameKeys<AssetDraft, ServerAssetDraft>,
];

const movieId = "0b6f3d4e-8a51-4c1e-9f3a-2d7c5e1b9a40";
const runId = "1c7a4e5f-9b62-4d2f-8a4b-3e8d6f2c0b51";
const jobId = "2d8b5f6a-0c73-4e3a-9b5c-4f9e7a3d1c62";
const taskId = "3e9c6a7b-1d84-4f4b-8c6d-5a0f8b4e2d73";
const providerId = "4fad7b8c-2e95-4a5c-9d7e-6b1a9c5f3e84";

type Answer = { status: number; body: unknown; headers?: Record<string, string> };
type Handler = (functionName: string, body: Record<string, unknown>) => Answer | Promise<Answer>;

class NoWebSocket {} // Node 20 has none; nothing here subscribes through supabase-js

/** The SupabaseClient a front end holds, signed in as `token`, its requests sent to `fetch`. */
const supabaseWith = (fetch: typeof globalThis.fetch, token = "user-access-token") =>
  createClient("http://127.0.0.1:54321", "anon-key", {
    accessToken: async () => token,
    realtime: { transport: NoWebSocket as never },
    global: { fetch },
  });

/** A real SupabaseClient whose fetch records each function call and answers with `handle`. */
function backend(handle: Handler = () => ({ status: 200, body: {} })) {
  const requests: Array<{ functionName: string; method: string; body: Record<string, unknown> }> = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    if (init.signal?.aborted) throw init.signal.reason;
    const functionName = new URL(String(input)).pathname.replace("/functions/v1/", "");
    const body = JSON.parse(String(init.body));
    requests.push({ functionName, method: init.method ?? "GET", body });
    const answer = await handle(functionName, body);
    return Response.json(answer.body, { status: answer.status, headers: answer.headers });
  };
  const supabase = supabaseWith(fetch);
  return { requests, supabase, client: createReelforgeClient(supabase) };
}

/** A SupabaseClient whose function calls go to the Hono app the function serves. */
async function servedBy(app: { request(path: string, init: RequestInit): Response | Promise<Response> }) {
  const token = await legacyUserToken();
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) =>
    await app.request(new URL(String(input)).pathname.replace("/functions/v1", ""), init ?? {});
  return createReelforgeClient(supabaseWith(fetch, token));
}

const functionEnv = {
  ...TEST_AUTH_ENV,
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key-for-tests",
  // Never reached: every request below is refused before any query.
  SUPABASE_DB_URL: "postgresql://nobody:nothing@127.0.0.1:1/none",
  REELFORGE_INTERNAL_SECRET: "internal-secret-0123456789",
  REELFORGE_ENCRYPTION_KEY: "encryption-key-with-at-least-32-characters",
};

function statusOf(state: MovieState): MovieStatus {
  return {
    movie: {
      id: movieId,
      title: "Harbour Lights",
      status: state,
      progress: state === "completed" ? 100 : 40,
      videoUrl: null,
      posterUrl: null,
      thumbnailUrl: null,
      errorMessage: null,
      warnings: [],
      failedScenes: [],
    },
    progress: null,
    scenes: [],
    metrics: [],
    spend: { units: 0, cap: null },
    elapsedSeconds: 1,
    urlsExpireAt: "2026-12-03T10:00:00.000Z",
    task: null,
  };
}

/** Answers produce-movie status with `states` in turn, the last one from then on. */
function statusBackend(...states: Array<MovieState | Answer>) {
  let next = 0;
  return backend(() => {
    const state = states[Math.min(next++, states.length - 1)];
    return typeof state === "string" ? { status: 200, body: statusOf(state) } : state;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("reelforge client requests", () => {
  const cases: Array<
    [string, string, Record<string, unknown>, (client: ReelforgeClient) => Promise<unknown>]
  > = [
    [
      "movies.start",
      "produce-movie",
      {
        action: "start",
        title: "Harbour Lights",
        prompt: "A keeper hears a signal",
        genre: "mystery",
        durationMinutes: 1,
        orientation: "portrait",
      },
      (c) =>
        c.movies.start({
          title: "Harbour Lights",
          prompt: "A keeper hears a signal",
          genre: "mystery",
          durationMinutes: 1,
          orientation: "portrait",
        }),
    ],
    ["movies.status", "produce-movie", { action: "status", movieId }, (c) => c.movies.status(movieId)],
    ["movies.resume", "produce-movie", { action: "resume", movieId }, (c) => c.movies.resume(movieId)],
    ["movies.cancel", "produce-movie", { action: "cancel", movieId }, (c) => c.movies.cancel(movieId)],
    ["movies.assemble", "assemble", { action: "start", movieId }, (c) => c.movies.assemble(movieId)],
    [
      "scenes.generateVideo",
      "generate-scene-video",
      { action: "start", movieId, sceneNumber: 3 },
      (c) => c.scenes.generateVideo({ movieId, sceneNumber: 3 }),
    ],
    [
      "scenes.generateAudio",
      "generate-audio",
      { action: "start", movieId, sceneNumber: 2 },
      (c) => c.scenes.generateAudio({ movieId, sceneNumber: 2 }),
    ],
    [
      "assets.start",
      "regenerate-asset",
      {
        action: "start",
        kind: "audio",
        target: { movieId, sceneNumber: 2, lineIndex: 0 },
        draft: { text: "Who keeps changing the reel?" },
      },
      (c) =>
        c.assets.start({
          kind: "audio",
          target: { movieId, sceneNumber: 2, lineIndex: 0 },
          draft: { text: "Who keeps changing the reel?" },
        }),
    ],
    ["assets.accept", "regenerate-asset", { action: "accept", runId }, (c) => c.assets.accept(runId)],
    ["assets.reject", "regenerate-asset", { action: "reject", runId }, (c) => c.assets.reject(runId)],
    ["assets.status", "regenerate-asset", { action: "status", runId }, (c) => c.assets.status(runId)],
    [
      "clones.start",
      "clone-database",
      { action: "start", targetUrl: "postgresql://u:p@db:5432/x", options: { schemas: ["public", "app"] } },
      (c) =>
        c.clones.start({ targetUrl: "postgresql://u:p@db:5432/x", options: { schemas: ["public", "app"] } }),
    ],
    ["clones.status", "clone-database", { action: "status", taskId: jobId }, (c) => c.clones.status(jobId)],
    ["clones.resume", "clone-database", { action: "resume", taskId: jobId }, (c) => c.clones.resume(jobId)],
    [
      "clones.restart",
      "clone-database",
      { action: "restart", taskId: jobId },
      (c) => c.clones.restart(jobId),
    ],
    ["clones.cancel", "clone-database", { action: "cancel", taskId: jobId }, (c) => c.clones.cancel(jobId)],
    ["providers.list", "providers", { action: "list" }, (c) => c.providers.list()],
    [
      "providers.register",
      "providers",
      {
        action: "register",
        providerType: "video",
        provider: "runway",
        model: "gen4.5",
        apiKey: "key_0123456789",
        concurrencyLimit: 2,
      },
      (c) =>
        c.providers.register({
          providerType: "video",
          provider: "runway",
          model: "gen4.5",
          apiKey: "key_0123456789",
          concurrencyLimit: 2,
        }),
    ],
    [
      "providers.rotateKey",
      "providers",
      { action: "rotate_key", id: providerId, apiKey: "key_9876543210" },
      (c) => c.providers.rotateKey({ id: providerId, apiKey: "key_9876543210" }),
    ],
    [
      "providers.deactivate",
      "providers",
      { action: "deactivate", id: providerId },
      (c) => c.providers.deactivate(providerId),
    ],
    [
      "tasks.status",
      "generate-scene-video",
      { action: "status", taskId },
      (c) => c.tasks.status("generate-scene-video", taskId),
    ],
    ["tasks.cancel", "assemble", { action: "cancel", taskId }, (c) => c.tasks.cancel("assemble", taskId)],
    [
      "tasks.resume",
      "regenerate-asset",
      { action: "resume", taskId },
      (c) => c.tasks.resume("regenerate-asset", taskId),
    ],
  ];

  it.each(cases)("%s posts exactly its action and fields to %s", async (_name, functionName, body, call) => {
    const { client, requests } = backend();
    await call(client);
    expect(requests).toEqual([{ functionName, method: "POST", body }]);
  });

  it("resolves with the function's JSON answer, 202s included", async () => {
    const { client } = backend(() => ({ status: 202, body: { movieId, taskId } }));
    expect(await client.movies.start({ title: "T", prompt: "P", genre: "g", durationMinutes: 1 })).toEqual({
      movieId,
      taskId,
    });
  });
});

describe("reelforge client errors", () => {
  it("builds a ReelforgeError from a FunctionsHttpError's error envelope", async () => {
    const envelope = {
      error: { code: "asset_run_stale", message: "asset run is stale", details: { slot: "movie:x:cover" } },
    };
    const supabase: ReelforgeSupabase = {
      functions: {
        invoke: async () => ({
          data: null,
          error: new FunctionsHttpError(Response.json(envelope, { status: 409 })),
        }),
      },
    };
    const error = await createReelforgeClient(supabase).assets.accept(runId).catch((e) => e);
    expect(error).toBeInstanceOf(ReelforgeError);
    expect(error).toMatchObject({
      status: 409,
      code: "asset_run_stale",
      message: "asset run is stale",
      details: { slot: "movie:x:cover" },
      functionName: "regenerate-asset",
      action: "accept",
      isTransient: false,
    });
  });

  it("carries the real produce-movie app's refusal of a bad field, naming it", async () => {
    const { app } = buildFunction({ name: "produce-movie", actions: produceMovieActions }, {
      env: functionEnv,
      waitUntil: () => {},
      workerStartedAt: Date.now(),
    });
    const client = await servedBy(app);
    const error = await client.movies.start({ title: "T", prompt: "P", genre: "g", durationMinutes: 31 })
      .catch((e) => e);
    expect(error).toMatchObject({
      status: 400,
      code: "invalid_request",
      functionName: "produce-movie",
      action: "start",
    });
    expect(error.details).toEqual([{
      path: "durationMinutes",
      message: "durationMinutes must be at most 30",
    }]);
  });

  it("carries the real providers app's code for a registration without its API key", async () => {
    const client = await servedBy(buildProvidersFunction({ env: functionEnv, waitUntil: () => {} }).app);
    const error = await client.providers.register({
      providerType: "video",
      provider: "runway",
      model: "gen4_turbo",
    }).catch((e) => e);
    expect(error).toMatchObject({ status: 400, code: "api_key_required", message: "runway needs an apiKey" });
  });

  it("reads the platform's own bodies: 401 Invalid JWT, 546 WORKER_LIMIT, 504 idle timeout, 404, a bare text 502", async () => {
    const answers: Answer[] = [
      { status: 401, body: { code: 401, message: "Invalid JWT" } },
      {
        status: 546,
        body: {
          code: "WORKER_LIMIT",
          message: "Function failed due to not having enough compute resources (please check logs)",
        },
      },
      {
        status: 504,
        body: {
          code: "IDLE_TIMEOUT",
          message: "The function did not send a response before the request idle timeout",
        },
      },
      { status: 404, body: { code: "NOT_FOUND", message: "Requested function was not found" } },
      { status: 502, body: "Bad Gateway" },
    ];
    const { client } = backend(() => answers.shift()!);
    const errors = [];
    for (let i = 0; i < 5; i++) errors.push(await client.movies.status(movieId).catch((e) => e));
    expect(errors[0]).toMatchObject({
      status: 401,
      code: "unauthorized",
      message: "Invalid JWT",
      isTransient: false,
    });
    expect(errors[1]).toMatchObject({ status: 546, code: "worker_limit", isTransient: true });
    expect(errors[2]).toMatchObject({ status: 504, code: "idle_timeout", isTransient: true });
    expect(errors[3]).toMatchObject({ status: 404, code: "function_not_found", isTransient: false });
    expect(errors[4]).toMatchObject({
      status: 502,
      code: "http_502",
      details: "Bad Gateway",
      isTransient: true,
    });
  });

  it("codes a relay failure relay_error", async () => {
    const { client } = backend(() => ({
      status: 502,
      body: "relay down",
      headers: { "x-relay-error": "true" },
    }));
    expect(await client.movies.status(movieId).catch((e) => e)).toMatchObject({
      status: 502,
      code: "relay_error",
    });
  });

  it("tells a function it cannot read an answer from (transient) from an aborted call (not)", async () => {
    // What a browser's fetch does with a platform error that has no CORS headers, or no network.
    const down = createReelforgeClient(supabaseWith(() => Promise.reject(new TypeError("Failed to fetch"))));
    const unreachable = await down.movies.status(movieId).catch((e) => e);
    expect(unreachable).toMatchObject({ status: 0, code: "platform_unreachable", isTransient: true });
    expect(unreachable.message).toMatch(/worker limit/);

    const { client, requests } = backend();
    const controller = new AbortController();
    controller.abort();
    const aborted = await client.movies.status(movieId, { signal: controller.signal }).catch((e) => e);
    expect(aborted).toMatchObject({ status: 0, code: "aborted", isTransient: false });
    expect(requests).toEqual([]);
  });
});

describe("watchMovie", () => {
  it("hands over each status and stops at the first terminal one", async () => {
    const { client, requests } = statusBackend("pending", "processing", "completed", "processing");
    const seen: MovieState[] = [];
    const final = await watchMovie(client, movieId, (s) => seen.push(s.movie.status), { intervalMs: 2 }).done;
    expect(final?.movie.status).toBe("completed");
    expect(seen).toEqual(["pending", "processing", "completed"]);
    await sleep(20);
    expect(requests).toHaveLength(3);
  });

  it("stops when its signal aborts, resolving with the last status seen", async () => {
    const { client, requests } = statusBackend("processing");
    const controller = new AbortController();
    let updates = 0;
    const watch = watchMovie(client, movieId, () => ++updates === 2 && controller.abort(), {
      intervalMs: 2,
      signal: controller.signal,
    });
    expect((await watch.done)?.movie.status).toBe("processing");
    await sleep(20);
    expect(requests).toHaveLength(2);
  });

  it("makes no call when the signal was aborted before it started", async () => {
    const { client, requests } = statusBackend("processing");
    expect(await watchMovie(client, movieId, () => {}, { signal: AbortSignal.abort() }).done).toBeNull();
    expect(requests).toEqual([]);
  });

  it("stops on unsubscribe", async () => {
    const { client, requests } = statusBackend("processing");
    const watch = watchMovie(client, movieId, () => {}, { intervalMs: 2 });
    await vi.waitFor(() => expect(requests.length).toBeGreaterThanOrEqual(2));
    watch.unsubscribe();
    const calls = requests.length;
    expect((await watch.done)?.movie.status).toBe("processing");
    await sleep(20);
    expect(requests).toHaveLength(calls);
  });

  it("rejects at once with a refusal such as 403, without asking again", async () => {
    const { client, requests } = statusBackend({
      status: 403,
      body: { error: { code: "forbidden", message: "Movie belongs to another user" } },
    });
    await expect(watchMovie(client, movieId, () => {}, { intervalMs: 2 }).done).rejects.toMatchObject({
      status: 403,
      code: "forbidden",
    });
    await sleep(20);
    expect(requests).toHaveLength(1);
  });

  it("rides out transient failures, and gives up after maxConsecutiveErrors of them", async () => {
    const killed: Answer = { status: 546, body: { code: "WORKER_LIMIT", message: "Worker was terminated" } };
    const flaky = statusBackend(killed, killed, "completed");
    expect((await watchMovie(flaky.client, movieId, () => {}, { intervalMs: 2 }).done)?.movie.status).toBe(
      "completed",
    );

    const down = statusBackend(killed);
    await expect(watchMovie(down.client, movieId, () => {}, { intervalMs: 2, maxConsecutiveErrors: 3 }).done)
      .rejects.toMatchObject({ code: "worker_limit" });
    expect(down.requests).toHaveLength(3);
  });

  it("rides out a platform error a browser sees as a failed fetch, and polls on to the end", async () => {
    let calls = 0;
    const { client, requests } = backend(() => {
      // Two answers lost the way a browser loses a 546 without CORS headers, then the film is done.
      if (++calls <= 2) throw new TypeError("Failed to fetch");
      return { status: 200, body: statusOf("completed") };
    });
    expect((await watchMovie(client, movieId, () => {}, { intervalMs: 2 }).done)?.movie.status).toBe(
      "completed",
    );
    expect(requests).toHaveLength(3);
  });
});

describe("watchMovie with Realtime", () => {
  function fakeRealtime() {
    const listeners: Array<{ filter: unknown; callback: () => void }> = [];
    const removed: RealtimeChannelLike[] = [];
    let onStatus: (status: string) => void = () => {};
    const channel: RealtimeChannelLike = {
      on: (_type, filter, callback) => (listeners.push({ filter, callback: () => callback({}) }), channel),
      subscribe: (callback) => ((onStatus = callback ?? onStatus), channel),
      unsubscribe: async () => "ok",
    };
    return {
      listeners,
      removed,
      channel,
      setStatus: (status: string) => onStatus(status),
      source: { channel: () => channel, removeChannel: async (c: RealtimeChannelLike) => removed.push(c) },
    };
  }

  it("listens to the film's rows, fetches status on each change, polls only slowly while subscribed, and removes its channel", async () => {
    const { supabase, requests } = statusBackend("processing", "processing", "processing", "completed");
    const realtime = fakeRealtime();
    const client = createReelforgeClient({ functions: supabase.functions, ...realtime.source });
    const watch = watchMovie(client, movieId, () => {}, {
      realtime: true,
      intervalMs: 2,
      realtimeIntervalMs: 60_000,
    });
    // Subscribed while the first status call is under way: one more call to catch up, then only the slow poll.
    realtime.setStatus("SUBSCRIBED");

    expect(realtime.listeners.map((l) => l.filter)).toEqual([
      { event: "*", schema: "public", table: "movies", filter: `id=eq.${movieId}` },
      { event: "*", schema: "public", table: "movie_creation_progress", filter: `movie_id=eq.${movieId}` },
      { event: "*", schema: "public", table: "movie_scenes", filter: `movie_id=eq.${movieId}` },
    ]);
    await vi.waitFor(() => expect(requests).toHaveLength(2));
    await sleep(30);
    expect(requests).toHaveLength(2);

    realtime.listeners[1].callback();
    await vi.waitFor(() => expect(requests).toHaveLength(3));
    realtime.listeners[0].callback();
    expect((await watch.done)?.movie.status).toBe("completed");
    expect(realtime.removed).toEqual([realtime.channel]);
  });

  it("falls back to polling every intervalMs when the channel drops", async () => {
    const { supabase, requests } = statusBackend("processing");
    const realtime = fakeRealtime();
    const client = createReelforgeClient({ functions: supabase.functions, ...realtime.source });
    const watch = watchMovie(client, movieId, () => {}, {
      realtime: true,
      intervalMs: 2,
      realtimeIntervalMs: 60_000,
    });
    realtime.setStatus("SUBSCRIBED");
    await vi.waitFor(() => expect(requests).toHaveLength(2));
    realtime.setStatus("CHANNEL_ERROR");
    await vi.waitFor(() => expect(requests.length).toBeGreaterThanOrEqual(6));
    watch.unsubscribe();
    await watch.done;
  });
});

describe("the client package", () => {
  it("imports nothing outside shared/client, so browsers, Node and Deno can all load it", () => {
    const folder = new URL("../../shared/client/", import.meta.url);
    for (const file of readdirSync(folder)) {
      const source = readFileSync(new URL(file, folder), "utf8");
      const specifiers = [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)].map((m) =>
        m[1]
      );
      expect(specifiers.filter((s) => !/^\.\/[a-z-]+\.ts$/.test(s)), file).toEqual([]);
      expect(source, file).not.toMatch(/\bDeno\.|\bprocess\.|\brequire\(/);
    }
  });

  it("lists the film's steps in the pipeline's order", () => {
    expect(FILM_STEPS).toEqual(SERVER_FILM_STEPS);
  });
});
