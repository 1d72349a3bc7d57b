/**
 * Providers fetch their inputs (Runway's first frame, sync.so's clip and voice, fal's clips) from
 * our Storage, whose media bucket is private: at the adapter boundary every address of ours in a
 * submitted request becomes a signed URL, made fresh for that submission. The caller's request is
 * untouched, so cache keys, logs and stored payloads keep the stable addresses.
 */
import { type MaySign, signUrlsIn } from "../storage/signed-urls.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import type { JobProvider } from "./types.ts";

/**
 * How long a provider's input URL serves: a provider may hold a job in its queue (Runway
 * THROTTLED, fal IN_QUEUE) before it fetches the inputs, so this is longer than an owner's hour.
 */
export const PROVIDER_INPUT_URL_TTL_SECONDS = 24 * 3600;

/**
 * `provider` whose submit hands the provider signed URLs for the objects `may` allows (the job
 * owner's: a request carries free text, a prompt, that its owner could fill with any address).
 */
export function withSignedInputs<P extends JobProvider<unknown, unknown>>(
  provider: P,
  storage: ObjectStorage,
  may: MaySign,
): P {
  return {
    ...provider,
    submit: async (request: unknown) =>
      provider.submit(await signUrlsIn(storage, request, PROVIDER_INPUT_URL_TTL_SECONDS, may)),
  };
}
