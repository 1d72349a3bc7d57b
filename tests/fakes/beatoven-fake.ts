// deno-lint-ignore-file no-explicit-any -- request bodies are JSON the fake reads field by field, as the provider does
/**
 * Beatoven's composition API: POST /api/v1/tracks/compose (Bearer) answers {status: "started",
 * task_id}; GET /api/v1/tasks/{task_id} walks the scripted statuses one per poll (or, with a fixed
 * latency, by time) and, once "composed", carries meta.track_url (this server's /files/track.mp3,
 * or with `realTracks` an MP3 as long as the prompt's leading "<N> seconds" asks).
 */
import { toneOfSeconds } from "./fake-media.ts";
import { type FakeServer, startFakeServer } from "./fake-server.ts";
import { currentPhase, type FakeJobClock } from "./fixed-latency.ts";

export interface BeatovenTaskScript {
  /** Default started, composing, composed. */
  phases?: string[];
  withoutTrackUrl?: boolean;
}

export interface BeatovenFake extends FakeServer {
  nextTask(script: BeatovenTaskScript): void;
  /** latencyMs: fixed time from compose to "composed" (null = one status per poll); realTracks: tracks of the asked length. */
  configure(settings: { latencyMs?: number | null; realTracks?: boolean }): void;
  bodies: Record<string, any>[];
}

export async function startBeatovenFake(apiKey = "beatoven-test-key"): Promise<BeatovenFake> {
  const server = await startFakeServer({
    authorize: (request) => request.headers.authorization === `Bearer ${apiKey}`,
  });
  const scripts: BeatovenTaskScript[] = [];
  const tasks = new Map<
    string,
    FakeJobClock & { script: BeatovenTaskScript; trackId: string; prompt: unknown; track: string }
  >();
  const settings = { latencyMs: null as number | null, realTracks: false };
  const trackFile = (text: string) => {
    const seconds = Number(text.match(/^(\d+) seconds\b/)?.[1]);
    if (!settings.realTracks || !seconds) return "track.mp3";
    server.serveFile(`track-${seconds}s.mp3`, "audio/mpeg", () => toneOfSeconds(seconds));
    return `track-${seconds}s.mp3`;
  };
  const bodies: Record<string, any>[] = [];

  server.route("POST /api/v1/tracks/compose", ({ body }) => {
    const request = (body ?? {}) as Record<string, any>;
    if (typeof request.prompt?.text !== "string" || request.prompt.text === "") {
      return { status: 400, body: { error: "prompt.text is required" } };
    }
    if (request.format !== undefined && !["mp3", "aac", "wav"].includes(request.format)) {
      return { status: 400, body: { error: "format must be mp3, aac or wav" } };
    }
    const trackId = crypto.randomUUID();
    const taskId = `${trackId}_1`;
    server.recordSubmission(request, taskId);
    bodies.push(request);
    tasks.set(taskId, {
      script: scripts.shift() ?? {},
      polls: 0,
      createdAt: Date.now(),
      trackId,
      prompt: request.prompt,
      track: trackFile(request.prompt.text),
    });
    return { body: { status: "started", task_id: taskId } };
  });

  server.route("GET /api/v1/tasks/:id", ({ params }) => {
    const task = tasks.get(params.id);
    if (!task) return { status: 404, body: { error: "task not found" } };
    const phases = task.script.phases ?? ["started", "composing", "composed"];
    const status = currentPhase(phases, task, settings.latencyMs);
    if (status !== "composed") return { body: { status } };
    const meta = {
      project_id: crypto.randomUUID(),
      track_id: task.trackId,
      prompt: task.prompt,
      version: 1,
      ...(task.script.withoutTrackUrl ? {} : { track_url: server.fileUrl(task.track) }),
    };
    return { body: { status, meta } };
  });

  return Object.assign(server, {
    nextTask: (script: BeatovenTaskScript) => void scripts.push(script),
    configure: (next: { latencyMs?: number | null; realTracks?: boolean }) =>
      void Object.assign(settings, next),
    bodies,
  });
}
