/**
 * Follows one film until it ends. Every update is a status call, because status is the one view
 * that gathers steps, scenes, metrics and the task; Realtime (postgres_changes on the film's rows)
 * only says when to make that call sooner, and a slow poll goes on under it in case an event is
 * lost. Without Realtime, or while its channel is down, status is polled every intervalMs.
 */
import { isMovieFinished, type MovieStatus } from "./movies.ts";
import type { RealtimeSource } from "./realtime-source.ts";
import type { ReelforgeClient } from "./reelforge-client.ts";
import { ReelforgeError } from "./reelforge-error.ts";

export interface WatchMovieOptions {
  /** Poll interval without Realtime; 1000 ms when left out. */
  intervalMs?: number;
  /** Listen on Realtime when the client's supabase has `channel`; off when left out. */
  realtime?: boolean;
  /** The safety-net poll while the Realtime channel is subscribed; 10000 ms when left out. */
  realtimeIntervalMs?: number;
  /** Transient failures (no answer, 5xx) in a row before the watch gives up; 10 when left out. */
  maxConsecutiveErrors?: number;
  signal?: AbortSignal;
}

export interface MovieWatch {
  /**
   * Resolves with the first status whose movie is completed, failed or cancelled; when stopped
   * before (signal, unsubscribe) with the last status seen, null if none. Rejects with the error
   * that ended the watch: a refusal (403, 404, ...), transient failures past the limit, or one
   * thrown by onUpdate.
   */
  done: Promise<MovieStatus | null>;
  unsubscribe(): void;
}

/** The film's rows whose changes can change its status, and the column naming the film. */
const WATCHED_TABLES = [["movies", "id"], ["movie_creation_progress", "movie_id"], [
  "movie_scenes",
  "movie_id",
]] as const;
let channelCount = 0;

export function watchMovie(
  client: ReelforgeClient,
  movieId: string,
  onUpdate: (status: MovieStatus) => void,
  options: WatchMovieOptions = {},
): MovieWatch {
  const {
    intervalMs = 1000,
    realtime = false,
    realtimeIntervalMs = 10_000,
    maxConsecutiveErrors = 10,
    signal,
  } = options;
  let settle!: (status: MovieStatus | null) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<MovieStatus | null>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });

  let stopped = false;
  let live = false;
  let inFlight = false;
  let fetchAgain = false;
  let failures = 0;
  let last: MovieStatus | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closeChannel = () => {};

  function stop() {
    stopped = true;
    clearTimeout(timer);
    signal?.removeEventListener("abort", unsubscribe);
    closeChannel();
  }

  function unsubscribe() {
    if (stopped) return;
    stop();
    settle(last);
  }

  async function refresh(): Promise<void> {
    if (stopped) return;
    if (inFlight) {
      fetchAgain = true; // a change came in while a status call was under way: it may predate it
      return;
    }
    clearTimeout(timer);
    inFlight = true;
    try {
      const status = await client.movies.status(movieId, { signal });
      if (stopped) return;
      failures = 0;
      last = status;
      onUpdate(status);
      if (isMovieFinished(status.movie.status)) return unsubscribe();
    } catch (error) {
      if (stopped) return;
      const transient = error instanceof ReelforgeError && error.isTransient;
      if (!transient || ++failures >= maxConsecutiveErrors) {
        stop();
        return fail(error);
      }
    } finally {
      inFlight = false;
    }
    if (stopped) return; // onUpdate unsubscribed, or aborted the signal
    if (fetchAgain) {
      fetchAgain = false;
      return refresh();
    }
    timer = setTimeout(refresh, live ? realtimeIntervalMs : intervalMs);
  }

  function openChannel(source: RealtimeSource) {
    // One channel per watch: supabase-js hands back the existing channel for a name it already has.
    const channel = source.channel(`reelforge-movie-${movieId}-${++channelCount}`);
    for (const [table, column] of WATCHED_TABLES) {
      channel.on("postgres_changes", {
        event: "*",
        schema: "public",
        table,
        filter: `${column}=eq.${movieId}`,
      }, () => void refresh());
    }
    channel.subscribe((state) => {
      const wasLive = live;
      live = state === "SUBSCRIBED";
      // Subscribed: catch up on changes made before it. Dropped: back to fast polling at once.
      if (live || wasLive) void refresh();
    });
    return () => void (source.removeChannel?.(channel) ?? channel.unsubscribe()).catch(() => {});
  }

  if (signal?.aborted) {
    settle(null);
    return { done, unsubscribe: () => {} };
  }
  signal?.addEventListener("abort", unsubscribe, { once: true });
  const source = client.supabase;
  if (realtime && source.channel) closeChannel = openChannel(source as RealtimeSource);
  void refresh();
  return { done, unsubscribe };
}
