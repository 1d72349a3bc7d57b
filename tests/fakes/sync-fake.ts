// deno-lint-ignore-file no-explicit-any -- request bodies are JSON the fake reads field by field, as the provider does
/**
 * sync.so v2 lip sync: POST /v2/generate (x-api-key) takes one video and one audio input and
 * answers the generation; an Idempotency-Key seen before replays that generation instead of
 * starting (and billing) another; GET /v2/generate/{id} walks the scripted statuses one per poll
 * (or, with a fixed latency, by time). Outputs point at /files/clip.mp4, or with `realOutputs` at
 * what sync.so returns: the input video's picture (no lips moved) with the input audio as its
 * sound, the two lengths reconciled as `options.sync_mode` says (sync.so/docs/developer-guides/
 * sync-mode; cut_off when absent), made with FFmpeg.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type FakeServer, startFakeServer } from "./fake-server.ts";
import { currentPhase, type FakeJobClock, nextScript, type ScriptRule } from "./fixed-latency.ts";

export type SyncStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED" | "REJECTED" | "CANCELED";

export interface SyncGenerationScript {
  /** Default PENDING, PROCESSING, COMPLETED. */
  phases?: SyncStatus[];
  error?: string;
  errorCode?: string;
  withoutOutput?: boolean;
  /** With `realOutputs`: the output is the input video as it came, without the audio (a broken answer). */
  silent?: boolean;
}

export const SYNC_MODES = ["cut_off", "loop", "bounce", "silence", "remap"] as const;

export interface SyncFakeSettings {
  /** Fixed time from create to the last status; null = one status per poll. */
  latencyMs?: number | null;
  /** Output = the input video with the input audio as its sound (a film render needs real media). */
  realOutputs?: boolean;
}

export interface SyncFake extends FakeServer {
  nextGeneration(script: SyncGenerationScript): void;
  scriptWhen(match: (body: Record<string, any>) => boolean, script: SyncGenerationScript): void;
  configure(settings: SyncFakeSettings): void;
  clearScripts(): void;
  bodies: Record<string, any>[];
}

export async function startSyncFake(apiKey = "sync-test-key"): Promise<SyncFake> {
  const server = await startFakeServer({ authorize: (request) => request.headers["x-api-key"] === apiKey });
  const scripts: SyncGenerationScript[] = [];
  const rules: ScriptRule<Record<string, any>, SyncGenerationScript>[] = [];
  const settings: Required<SyncFakeSettings> = { latencyMs: null, realOutputs: false };
  const generations = new Map<
    string,
    FakeJobClock & { script: SyncGenerationScript; body: Record<string, any>; output: string }
  >();
  const byKey = new Map<string, string>();
  const bodies: Record<string, any>[] = [];
  const answer = (id: string, status: SyncStatus) => {
    const { script, body, output } = generations.get(id)!;
    const failed = ["FAILED", "REJECTED", "CANCELED"].includes(status);
    return {
      id,
      status,
      model: body.model,
      input: body.input,
      createdAt: new Date().toISOString(),
      outputUrl: status === "COMPLETED" && !script.withoutOutput ? server.fileUrl(output) : null,
      error: failed ? script.error ?? "generation failed" : null,
      ...(failed && script.errorCode ? { error_code: script.errorCode } : {}),
    };
  };

  server.route("POST /v2/generate", ({ body, headers }) => {
    const request = (body ?? {}) as Record<string, any>;
    const types = Array.isArray(request.input)
      ? request.input.map((item: { type?: string }) => item.type).sort().join(",")
      : "";
    if (types !== "audio,video") {
      return { status: 400, body: { message: "input must hold one video and one audio", statusCode: 400 } };
    }
    const mode = request.options?.sync_mode ?? "cut_off";
    if (!(SYNC_MODES as readonly string[]).includes(mode)) {
      return {
        status: 400,
        body: { message: `options.sync_mode must be one of ${SYNC_MODES}`, statusCode: 400 },
      };
    }
    const key = headers["idempotency-key"];
    if (typeof key === "string" && byKey.has(key)) {
      return { status: 201, body: answer(byKey.get(key)!, "PENDING") };
    }
    const id = crypto.randomUUID();
    server.recordSubmission(request, id);
    bodies.push(request);
    const script = nextScript(rules, scripts, request, {});
    let output = "clip.mp4";
    if (settings.realOutputs) {
      output = `lipsync-${id}.mp4`;
      const urlOf = (type: string) => request.input.find((item: { type?: string }) => item.type === type).url;
      server.serveFile(
        output,
        "video/mp4",
        () => script.silent ? fetchBytes(urlOf("video")) : syncedClip(urlOf("video"), urlOf("audio"), mode),
      );
    }
    generations.set(id, {
      script,
      polls: 0,
      createdAt: Date.now(),
      body: request,
      output,
    });
    if (typeof key === "string") byKey.set(key, id);
    return { status: 201, body: answer(id, "PENDING") };
  });

  server.route("GET /v2/generate/:id", ({ params }) => {
    const generation = generations.get(params.id);
    if (!generation) return { status: 404, body: { message: "Generation not found", statusCode: 404 } };
    const phases = generation.script.phases ?? ["PENDING", "PROCESSING", "COMPLETED"];
    return { body: answer(params.id, currentPhase(phases, generation, settings.latencyMs)) };
  });

  return Object.assign(server, {
    nextGeneration: (script: SyncGenerationScript) => void scripts.push(script),
    scriptWhen: (match: (body: Record<string, any>) => boolean, script: SyncGenerationScript) =>
      void rules.push({ match, script }),
    configure: (next: SyncFakeSettings) => void Object.assign(settings, next),
    clearScripts() {
      scripts.length = 0;
      rules.length = 0;
    },
    bodies,
  });
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const run = promisify(execFile);

const secondsOf = async (file: string) =>
  Number(
    (await run("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file]))
      .stdout.trim(),
  );

/**
 * The video's picture under the audio, as long as `mode` makes it: cut_off the shorter input;
 * silence the longer (audio padded with silence, or the last frame held); loop, bounce (forward
 * then reversed) and remap (retimed) the audio's.
 */
async function syncedClip(videoUrl: string, audioUrl: string, mode: string): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), "reelforge-sync-fake-"));
  try {
    const [video, audio, out] = [join(dir, "video"), join(dir, "audio"), join(dir, "synced.mp4")];
    await writeFile(video, await fetchBytes(videoUrl));
    await writeFile(audio, await fetchBytes(audioUrl));
    const [v, a] = [await secondsOf(video), await secondsOf(audio)];
    const encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
    const byMode: Record<string, { input?: string[]; picture?: string[]; seconds: number }> = {
      cut_off: { seconds: Math.min(v, a) },
      silence: {
        picture: a > v ? ["-vf", `tpad=stop_mode=clone:stop_duration=${a - v}`, ...encode] : undefined,
        seconds: Math.max(v, a),
      },
      loop: { input: ["-stream_loop", "-1"], picture: encode, seconds: a },
      bounce: {
        picture: [
          "-filter_complex",
          "[0:v]split[f][b];[b]reverse[r];[f][r]concat=n=2:v=1:a=0,loop=loop=-1:size=32767[v]",
          ...encode,
        ],
        seconds: a,
      },
      remap: { picture: ["-vf", `setpts=PTS*${a / v}`, ...encode], seconds: a },
    };
    const { input = [], picture = ["-c:v", "copy"], seconds } = byMode[mode];
    const videoMap = mode === "bounce" ? "[v]" : "0:v:0";
    await run("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      ...input,
      "-i",
      video,
      "-i",
      audio,
      "-map",
      videoMap,
      "-map",
      "1:a:0",
      ...picture,
      ...(mode === "silence" ? ["-af", "apad"] : []),
      "-t",
      String(seconds),
      "-c:a",
      "aac",
      "-movflags",
      "+faststart",
      out,
    ]);
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
