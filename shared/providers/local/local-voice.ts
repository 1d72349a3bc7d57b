/**
 * The offline voice. VoiceProvider.speak is one synchronous call, but espeak-ng runs only on a
 * worker: speak submits a `local_media` voice job and waits for it, polling the task row with
 * short sleeps up to a deadline, then reads the file back from Storage. Without a running worker
 * it fails with a retryable `worker_timeout` instead of hanging.
 */
import { ProviderError } from "../provider-errors.ts";
import type { ObjectStorage } from "../../storage/storage.ts";
import type { SpeechRequest, SpeechResult, VoiceProvider } from "../types.ts";
import {
  localMediaClient,
  localOutputPath,
  type LocalProviderDeps,
  pollLocalMedia,
} from "./local-job-providers.ts";
import { LOCAL_MEDIA_KIND } from "./local-media-payload.ts";

export interface LocalVoiceOptions {
  storage: ObjectStorage;
  timeoutMs?: number;
  pollEveryMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failure = (failureCode: string, retryable: boolean, detail: string) =>
  new ProviderError({ provider: "local", failureCode, retryable }, detail);

export function createLocalVoiceProvider(deps: LocalProviderDeps, options: LocalVoiceOptions): VoiceProvider {
  const client = localMediaClient(deps);
  const bucket = deps.bucket ?? "media";
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollEveryMs = options.pollEveryMs ?? 250;

  return {
    provider: "local",
    model: "local",
    async speak(request: SpeechRequest): Promise<SpeechResult> {
      if (!request.text.trim()) throw failure("invalid_request", false, "text is empty");
      const fields = { voiceId: request.voiceId, text: request.text };
      const path = await localOutputPath(deps.userId, "voice", fields);
      const jobId = await client.submit(LOCAL_MEDIA_KIND, {
        op: "voice",
        ...fields,
        output: { bucket, path },
      });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await pollLocalMedia(client, jobId);
        if (state.state === "failed") throw failure(state.failureCode, false, state.message);
        if (state.state === "succeeded") {
          const audio = await options.storage.download(bucket, path);
          if (!audio) {
            throw failure(
              "output_missing",
              true,
              `voice job ${jobId} succeeded but ${bucket}/${path} is missing`,
            );
          }
          return {
            audio,
            contentType: "audio/mpeg",
            requestId: jobId,
            alignment: null,
            durationSeconds: state.output.durationSeconds,
          };
        }
        if (Date.now() > deadline) {
          await client.cancel(jobId);
          throw failure(
            "worker_timeout",
            true,
            `no render worker finished voice job ${jobId} within ${timeoutMs} ms (is scripts/render-worker.ts running?)`,
          );
        }
        await sleep(pollEveryMs);
      }
    },
  };
}
