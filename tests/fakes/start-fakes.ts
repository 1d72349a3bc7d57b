/**
 * Starts every provider fake on its own 127.0.0.1 port, for tests that run the film pipeline
 * against the real adapters. Each fake keeps its scripting and counters; `adapterOptions` gives
 * the base URL and test key each adapter factory needs; `configureFilm` switches them all to fixed
 * latencies and real media of the requested lengths.
 */
import { type BeatovenFake, startBeatovenFake } from "./beatoven-fake.ts";
import { type ElevenLabsFake, startElevenLabsFake } from "./elevenlabs-fake.ts";
import { type FalFake, startFalFake } from "./fal-fake.ts";
import { type OpenAiFake, startOpenAiFake } from "./openai-fake.ts";
import { OPENVERSE_TEST_CLIENT, type OpenverseFake, startOpenverseFake } from "./openverse-fake.ts";
import { type RunwayFake, startRunwayFake } from "./runway-fake.ts";
import { startSyncFake, type SyncFake } from "./sync-fake.ts";

export const FAKE_API_KEYS = {
  openai: "openai-test-key",
  runway: "runway-test-key",
  fal: "fal-test-key",
  elevenlabs: "elevenlabs-test-key",
  sync: "sync-test-key",
  beatoven: "beatoven-test-key",
  // Openverse's key is an application's client credentials, `<client_id>:<client_secret>`.
  openverse: `${OPENVERSE_TEST_CLIENT.clientId}:${OPENVERSE_TEST_CLIENT.clientSecret}`,
} as const;

/** Fixed provider latencies (ms) for a film run; each job takes exactly this long at its fake. */
export interface FilmLatencies {
  llm: number;
  image: number;
  video: number;
  voice: number;
  lipsync: number;
  music: number;
}

export type FakeProvider = keyof typeof FAKE_API_KEYS;

export interface Fakes {
  openai: OpenAiFake;
  runway: RunwayFake;
  fal: FalFake;
  elevenlabs: ElevenLabsFake;
  sync: SyncFake;
  beatoven: BeatovenFake;
  openverse: OpenverseFake;
  /** `{apiKey, baseUrl, allowInsecureUrls}` for a provider's adapter factory (OpenAI's base includes /v1). */
  adapterOptions(provider: FakeProvider): { apiKey: string; baseUrl: string; allowInsecureUrls: true };
  /** The value of REELFORGE_PROVIDER_BASE_URLS that sends every adapter to these fakes. */
  baseUrls(): Record<FakeProvider, string>;
  configureFilm(latencies: FilmLatencies): void;
  /** Paid submissions per provider: total, the most times one input was paid for, distinct inputs. */
  submissions(): Record<FakeProvider, { total: number; maxPerInput: number; inputs: number }>;
  resetCounters(): void;
  clearScripts(): void;
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const [openai, runway, fal, elevenlabs, sync, beatoven, openverse] = await Promise.all([
    startOpenAiFake(FAKE_API_KEYS.openai),
    startRunwayFake(FAKE_API_KEYS.runway),
    startFalFake(FAKE_API_KEYS.fal),
    startElevenLabsFake(FAKE_API_KEYS.elevenlabs),
    startSyncFake(FAKE_API_KEYS.sync),
    startBeatovenFake(FAKE_API_KEYS.beatoven),
    startOpenverseFake(),
  ]);
  const servers = { openai, runway, fal, elevenlabs, sync, beatoven, openverse };
  const names = Object.keys(servers) as FakeProvider[];
  const baseUrl = (provider: FakeProvider) =>
    provider === "openai" ? `${openai.baseUrl}/v1` : servers[provider].baseUrl;
  return {
    ...servers,
    adapterOptions: (provider) => ({
      apiKey: FAKE_API_KEYS[provider],
      baseUrl: baseUrl(provider),
      allowInsecureUrls: true,
    }),
    baseUrls: () =>
      Object.fromEntries(names.map((name) => [name, baseUrl(name)])) as Record<FakeProvider, string>,
    configureFilm(latencies) {
      openai.configure({ latencyMs: latencies.llm });
      fal.configure({ latencyMs: latencies.image });
      runway.configure({ latencyMs: latencies.video, realClips: true });
      elevenlabs.configure({ latencyMs: latencies.voice, realAudio: true });
      sync.configure({ latencyMs: latencies.lipsync, realOutputs: true });
      beatoven.configure({ latencyMs: latencies.music, realTracks: true });
    },
    submissions: () =>
      Object.fromEntries(names.map((name) => [name, servers[name].submissions()])) as ReturnType<
        Fakes["submissions"]
      >,
    resetCounters: () => names.forEach((name) => servers[name].resetCounters()),
    clearScripts() {
      for (const fake of [runway, fal, sync, elevenlabs]) fake.clearScripts();
      openai.answerWith(null);
      openverse.answerWith(null);
    },
    close: async () => void await Promise.all(Object.values(servers).map((server) => server.close())),
  };
}
