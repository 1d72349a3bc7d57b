/**
 * Starts every provider fake on its own 127.0.0.1 port, for tests that run the film pipeline
 * against the real adapters. Each fake keeps its scripting and counters; `adapterOptions` gives
 * the base URL and test key each adapter factory needs.
 */
import { type BeatovenFake, startBeatovenFake } from "./beatoven-fake.ts";
import { type ElevenLabsFake, startElevenLabsFake } from "./elevenlabs-fake.ts";
import { type FalFake, startFalFake } from "./fal-fake.ts";
import { type OpenAiFake, startOpenAiFake } from "./openai-fake.ts";
import { type RunwayFake, startRunwayFake } from "./runway-fake.ts";
import { startSyncFake, type SyncFake } from "./sync-fake.ts";

export const FAKE_API_KEYS = {
  openai: "openai-test-key",
  runway: "runway-test-key",
  fal: "fal-test-key",
  elevenlabs: "elevenlabs-test-key",
  sync: "sync-test-key",
  beatoven: "beatoven-test-key",
} as const;

export interface Fakes {
  openai: OpenAiFake;
  runway: RunwayFake;
  fal: FalFake;
  elevenlabs: ElevenLabsFake;
  sync: SyncFake;
  beatoven: BeatovenFake;
  /** `{apiKey, baseUrl, allowInsecureUrls}` for a provider's adapter factory (OpenAI's base includes /v1). */
  adapterOptions(provider: keyof typeof FAKE_API_KEYS): { apiKey: string; baseUrl: string; allowInsecureUrls: true };
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const [openai, runway, fal, elevenlabs, sync, beatoven] = await Promise.all([
    startOpenAiFake(FAKE_API_KEYS.openai),
    startRunwayFake(FAKE_API_KEYS.runway),
    startFalFake(FAKE_API_KEYS.fal),
    startElevenLabsFake(FAKE_API_KEYS.elevenlabs),
    startSyncFake(FAKE_API_KEYS.sync),
    startBeatovenFake(FAKE_API_KEYS.beatoven),
  ]);
  const servers = { openai, runway, fal, elevenlabs, sync, beatoven };
  return {
    ...servers,
    adapterOptions: (provider) => ({
      apiKey: FAKE_API_KEYS[provider],
      baseUrl: provider === "openai" ? `${openai.baseUrl}/v1` : servers[provider].baseUrl,
      allowInsecureUrls: true,
    }),
    close: async () => void await Promise.all(Object.values(servers).map((server) => server.close())),
  };
}
