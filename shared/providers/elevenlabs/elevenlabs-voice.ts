/**
 * ElevenLabs text to speech, one call per dialogue line, with character timestamps (for lip sync
 * and subtitles) and the request id kept, so one regenerated line can be stitched to its
 * neighbours.
 *
 * Thin fetch client, not @elevenlabs/elevenlabs-js: we need the `request-id` response header next
 * to the JSON body and our own reading of the two kinds of 429, and the SDK's retries would sit
 * beside provider-fetch's.
 *
 * API facts relied on (elevenlabs.io/docs, DESIGN.md §8): `POST /v1/text-to-speech/{voice_id}/
 * with-timestamps?output_format=mp3_44100_128`, header `xi-api-key`; body {text, model_id,
 * previous_request_ids?, next_request_ids? (each ≤ 3 ids, < 2 h old, not supported by
 * eleven_v3), voice_settings? {stability 0..1, similarity_boost 0..1, style 0..1, speed 0.7..1.2}
 * (overrides the voice's stored settings for this request), seed? (integer 0..4294967295, best
 * effort determinism)}; answer {audio_base64, alignment: {characters, character_start_times_seconds,
 * character_end_times_seconds} | null, normalized_alignment}; the `request-id` header names the
 * generation. Errors are {detail: {status|code, message}}; a 429 is either the plan's concurrency
 * (`too_many_concurrent_requests`, newer docs `concurrent_limit_exceeded`: a queue, retry soon)
 * or load (`system_busy`, newer `rate_limit_exceeded`: back off longer).
 */
import { z } from "zod";
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import type { FailureClass, HttpFailure } from "../http/http-failure.ts";
import { speechTimeoutMs } from "../http/call-timeouts.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { ProviderError, ProviderInputError } from "../provider-errors.ts";
import type { SpeechRequest, SpeechResult, VoiceProvider, VoiceSettings } from "../types.ts";
import { ELEVENLABS_MODELS, isElevenLabsVoiceId, VOICE_SETTING_RANGES } from "./elevenlabs-models.ts";

const wireVoiceSettings = (s: VoiceSettings) => ({
  ...(s.stability === undefined ? {} : { stability: s.stability }),
  ...(s.similarityBoost === undefined ? {} : { similarity_boost: s.similarityBoost }),
  ...(s.style === undefined ? {} : { style: s.style }),
  ...(s.speed === undefined ? {} : { speed: s.speed }),
});

const CONTENT_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  pcm: "audio/L16",
  opus: "audio/opus",
  ulaw: "audio/basic",
};

const answerSchema = z.object({
  audio_base64: z.string().min(1),
  alignment: z.object({
    characters: z.array(z.string()),
    character_start_times_seconds: z.array(z.number()),
    character_end_times_seconds: z.array(z.number()),
  }).nullish(),
});

export interface ElevenLabsVoiceOptions extends AdapterOptions {
  outputFormat?: string;
  /** Wait between tries while our plan's concurrency slots are full (flat: a queue drains). */
  queueWaitMs?: number;
  /** Base of the doubling wait while ElevenLabs is busy. */
  busyBackoffMs?: number;
}

export function classifyElevenLabs(
  failure: HttpFailure,
  queueWaitMs: number,
  busyBackoffMs: number,
): FailureClass | undefined {
  const detail = (failure.body as { detail?: { status?: unknown; code?: unknown } } | null)?.detail;
  const code = typeof detail === "object" && detail ? String(detail.status ?? detail.code ?? "") : "";
  if (failure.status !== 429) {
    return code ? { failureCode: code, retryable: failure.status >= 500 } : undefined;
  }
  if (code === "too_many_concurrent_requests" || code === "concurrent_limit_exceeded") {
    return { failureCode: code, retryable: true, advice: { baseDelayMs: queueWaitMs, flat: true } };
  }
  return { failureCode: code || "system_busy", retryable: true, advice: { baseDelayMs: busyBackoffMs } };
}

export function createElevenLabsVoice(options: ElevenLabsVoiceOptions): VoiceProvider {
  const { model } = options;
  const outputFormat = options.outputFormat ?? "mp3_44100_128";
  const http = createProviderHttp({
    provider: "elevenlabs",
    baseUrl: options.baseUrl ?? "https://api.elevenlabs.io",
    headers: { "xi-api-key": options.apiKey },
    ...httpOptions(options),
    // Queue waits are flat and short, so allow more of them than the default budget.
    retry: { maxAttempts: 6, ...options.retry },
    classify: (failure) =>
      classifyElevenLabs(failure, options.queueWaitMs ?? 1_000, options.busyBackoffMs ?? 4_000),
  });

  const validate = (request: SpeechRequest) => {
    const fail = (message: string) => {
      throw new ProviderInputError("elevenlabs", model, message);
    };
    const rules = ELEVENLABS_MODELS[model] ??
      fail(`unknown model; use one of ${Object.keys(ELEVENLABS_MODELS).join(", ")}`);
    if (!isElevenLabsVoiceId(request.voiceId)) fail("voiceId must be an ElevenLabs voice id");
    if (request.text.trim() === "") fail("text is empty");
    if (request.text.length > rules!.maxChars) {
      fail(`text is ${request.text.length} characters, over ${rules!.maxChars}`);
    }
    const stitched = [...(request.previousRequestIds ?? []), ...(request.nextRequestIds ?? [])];
    if (stitched.length > 0 && !rules!.stitching) fail("this model does not support request stitching");
    if ((request.previousRequestIds?.length ?? 0) > 3 || (request.nextRequestIds?.length ?? 0) > 3) {
      fail("at most 3 previous and 3 next request ids");
    }
    for (const [name, [min, max]] of Object.entries(VOICE_SETTING_RANGES)) {
      const value = request.voiceSettings?.[name as keyof VoiceSettings];
      if (value !== undefined && !(typeof value === "number" && value >= min && value <= max)) {
        fail(`voiceSettings.${name} must be a number in ${min}..${max}`);
      }
    }
    if (
      request.seed !== undefined &&
      !(Number.isInteger(request.seed) && request.seed >= 0 && request.seed <= 4294967295)
    ) fail("seed must be an integer in 0..4294967295");
  };

  return {
    provider: "elevenlabs",
    model,
    async speak(request: SpeechRequest): Promise<SpeechResult> {
      validate(request);
      const body = {
        text: request.text,
        model_id: model,
        ...(request.previousRequestIds?.length ? { previous_request_ids: request.previousRequestIds } : {}),
        ...(request.nextRequestIds?.length ? { next_request_ids: request.nextRequestIds } : {}),
        ...(request.voiceSettings && Object.keys(request.voiceSettings).length
          ? { voice_settings: wireVoiceSettings(request.voiceSettings) }
          : {}),
        ...(request.seed === undefined ? {} : { seed: request.seed }),
      };
      const { data, headers } = await http.request({
        method: "POST",
        path: `/v1/text-to-speech/${encodeURIComponent(request.voiceId)}/with-timestamps?output_format=${
          encodeURIComponent(outputFormat)
        }`,
        body,
        schema: answerSchema,
        // A repeated line pays for its characters again: a timed-out call is not re-sent (its
        // outcome is unknown), an error answer is (nothing was billed). Longer lines wait longer.
        timeoutMs: options.timeoutMs ?? speechTimeoutMs(request.text.length),
        repeatErrorAnswers: true,
      });
      const audio = decodeBase64(data.audio_base64);
      const alignment = data.alignment ?? null;
      const ends = alignment?.character_end_times_seconds ?? [];
      return {
        audio,
        contentType: CONTENT_TYPES[outputFormat.split("_")[0]] ?? "application/octet-stream",
        requestId: headers.get("request-id"),
        alignment: alignment && {
          characters: alignment.characters,
          characterStartTimesSeconds: alignment.character_start_times_seconds,
          characterEndTimesSeconds: alignment.character_end_times_seconds,
        },
        durationSeconds: ends.length > 0 ? ends[ends.length - 1] : null,
      };
    },
  };
}

function decodeBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    throw new ProviderError(
      { provider: "elevenlabs", failureCode: "invalid_response", retryable: false },
      "audio_base64 is not base64",
    );
  }
}
