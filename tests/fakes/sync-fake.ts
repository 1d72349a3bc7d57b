// deno-lint-ignore-file no-explicit-any -- request bodies are JSON the fake reads field by field, as the provider does
/**
 * sync.so v2 lip sync: POST /v2/generate (x-api-key) takes one video and one audio input and
 * answers the generation; an Idempotency-Key seen before replays that generation instead of
 * starting (and billing) another; GET /v2/generate/{id} walks the scripted statuses one per poll
 * (or, with a fixed latency, by time). Outputs point at /files/clip.mp4, or with `realOutputs` at
 * the input video itself (same length; this fake moves no lips).
 */
import { type FakeServer, startFakeServer } from "./fake-server.ts";
import { currentPhase, type FakeJobClock, nextScript, type ScriptRule } from "./fixed-latency.ts";

export type SyncStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED" | "REJECTED" | "CANCELED";

export interface SyncGenerationScript {
  /** Default PENDING, PROCESSING, COMPLETED. */
  phases?: SyncStatus[];
  error?: string;
  errorCode?: string;
  withoutOutput?: boolean;
}

export interface SyncFakeSettings {
  /** Fixed time from create to the last status; null = one status per poll. */
  latencyMs?: number | null;
  /** Output = the input video's bytes (a film render needs the clip's real length). */
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
    const key = headers["idempotency-key"];
    if (typeof key === "string" && byKey.has(key)) {
      return { status: 201, body: answer(byKey.get(key)!, "PENDING") };
    }
    const id = crypto.randomUUID();
    server.recordSubmission(request, id);
    bodies.push(request);
    let output = "clip.mp4";
    if (settings.realOutputs) {
      output = `lipsync-${id}.mp4`;
      const videoUrl = request.input.find((item: { type?: string }) => item.type === "video").url;
      server.serveFile(
        output,
        "video/mp4",
        async () => new Uint8Array(await (await fetch(videoUrl)).arrayBuffer()),
      );
    }
    generations.set(id, {
      script: nextScript(rules, scripts, request, {}),
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
