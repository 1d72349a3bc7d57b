// deno-lint-ignore-file no-explicit-any -- request bodies are JSON the fake reads field by field, as the provider does
/**
 * ElevenLabs text to speech with timestamps: POST /v1/text-to-speech/{voice_id}/with-timestamps
 * (xi-api-key) answers {audio_base64 (a real MP3), alignment, normalized_alignment} and a
 * `request-id` header; stitching ids must name earlier requests of this fake; eleven_v3 refuses
 * stitching; voice_settings and seed must be in their documented ranges. Errors use ElevenLabs'
 * {detail: {status, message}} shape — script 429s with
 * `elevenLabs429("too_many_concurrent_requests" | "system_busy")`. `configure` adds a fixed
 * answer delay and (realAudio) MP3s as long as their alignment says.
 */
import { fakeMedia, toneOfSeconds } from "./fake-media.ts";
import { type FakeServer, type Fault, startFakeServer } from "./fake-server.ts";
import { delay } from "./fixed-latency.ts";

export const TTS_ROUTE = "POST /v1/text-to-speech/:voice/with-timestamps";
const SECONDS_PER_CHARACTER = 0.06;

export interface ElevenLabsFake extends FakeServer {
  /** Each accepted request: its id, voice, body and when it arrived (ms since the epoch). */
  requests: { requestId: string; voiceId: string; body: Record<string, any>; receivedAt: number }[];
  /** latencyMs: every accepted request is answered after this delay; realAudio: MP3 of the alignment's length. */
  configure(settings: { latencyMs?: number; realAudio?: boolean }): void;
  /** Fails every request whose text matches, with this fault (after the latency), until cleared. */
  failWhen(match: (text: string) => boolean, fault: { status: number; body?: unknown }): void;
  clearScripts(): void;
}

export function elevenLabs429(
  status: "too_many_concurrent_requests" | "system_busy",
  retryAfter?: number,
): Fault {
  return {
    status: 429,
    retryAfter,
    body: {
      detail: {
        status,
        message: status === "system_busy"
          ? "The system is busy, try again later"
          : "Too many concurrent requests for your plan",
      },
    },
  };
}

export async function startElevenLabsFake(apiKey = "elevenlabs-test-key"): Promise<ElevenLabsFake> {
  const server = await startFakeServer({ authorize: (request) => request.headers["xi-api-key"] === apiKey });
  const requests: ElevenLabsFake["requests"] = [];
  const settings = { latencyMs: 0, realAudio: false };
  const failures: { match: (text: string) => boolean; fault: { status: number; body?: unknown } }[] = [];
  const invalid = (message: string) => ({
    status: 400,
    body: { detail: { status: "invalid_request", message } },
  });

  server.route(TTS_ROUTE, async ({ params, body, query }) => {
    const receivedAt = Date.now();
    const request = (body ?? {}) as Record<string, any>;
    if (typeof request.text !== "string" || request.text === "") return invalid("text is required");
    if (!["eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_v3"].includes(request.model_id)) {
      return invalid(`model ${request.model_id} not found`);
    }
    if (!query.get("output_format")?.startsWith("mp3_")) return invalid("this fake only makes mp3");
    const stitched = [...(request.previous_request_ids ?? []), ...(request.next_request_ids ?? [])];
    if (stitched.length > 0 && request.model_id === "eleven_v3") {
      return invalid("request stitching is not supported for eleven_v3");
    }
    if (stitched.some((id: string) => !requests.some((r) => r.requestId === id))) {
      return invalid("unknown request id in previous_request_ids/next_request_ids");
    }
    const settingsProblem = voiceSettingsProblem(request.voice_settings);
    if (settingsProblem) return invalid(settingsProblem);
    if (
      request.seed !== undefined &&
      !(Number.isInteger(request.seed) && request.seed >= 0 && request.seed <= 4294967295)
    ) return invalid("seed must be an integer between 0 and 4294967295");
    if (settings.latencyMs > 0) await delay(settings.latencyMs);
    const failure = failures.find((f) => f.match(request.text));
    if (failure) {
      return {
        status: failure.fault.status,
        body: failure.fault.body ?? { detail: { status: "scripted_failure", message: "scripted failure" } },
      };
    }
    server.recordSubmission({ voice: params.voice, request });
    const requestId = crypto.randomUUID().replaceAll("-", "");
    requests.push({ requestId, voiceId: params.voice, body: request, receivedAt });
    const characters = [...request.text];
    const alignment = {
      characters,
      character_start_times_seconds: characters.map((_, i) => round(i * SECONDS_PER_CHARACTER)),
      character_end_times_seconds: characters.map((_, i) => round((i + 1) * SECONDS_PER_CHARACTER)),
    };
    return {
      headers: { "request-id": requestId },
      body: {
        audio_base64: Buffer.from(
          settings.realAudio
            ? await toneOfSeconds(characters.length * SECONDS_PER_CHARACTER)
            : fakeMedia().mp3,
        ).toString("base64"),
        alignment,
        normalized_alignment: alignment,
      },
    };
  });

  return Object.assign(server, {
    requests,
    configure: (next: { latencyMs?: number; realAudio?: boolean }) => void Object.assign(settings, next),
    failWhen: (match: (text: string) => boolean, fault: { status: number; body?: unknown }) =>
      void failures.push({ match, fault }),
    clearScripts: () => void (failures.length = 0),
  });
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** voice_settings as documented: stability, similarity_boost, style in 0..1, speed in 0.7..1.2, use_speaker_boost a boolean. */
const VOICE_SETTING_RANGES: Record<string, [number, number]> = {
  stability: [0, 1],
  similarity_boost: [0, 1],
  style: [0, 1],
  speed: [0.7, 1.2],
};

function voiceSettingsProblem(settings: unknown): string | null {
  if (settings === undefined || settings === null) return null;
  if (typeof settings !== "object" || Array.isArray(settings)) return "voice_settings must be an object";
  for (const [key, value] of Object.entries(settings)) {
    if (key === "use_speaker_boost") {
      if (typeof value !== "boolean") return "voice_settings.use_speaker_boost must be a boolean";
      continue;
    }
    const range = VOICE_SETTING_RANGES[key];
    if (!range) return `voice_settings.${key} is not a voice setting`;
    if (typeof value !== "number" || value < range[0] || value > range[1]) {
      return `voice_settings.${key} must be a number in ${range[0]}..${range[1]}`;
    }
  }
  return null;
}
