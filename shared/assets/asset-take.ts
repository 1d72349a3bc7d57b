/**
 * A new take. Regenerating with no change in the draft is asking for another take, so it must not
 * be answered by the content caches (they key on the inputs, which did not change): every
 * regenerate run picks a take that goes into its inputs hash.
 * - draft.settings.seed pinned: that seed is the take (the same draft and seed again is the same
 *   take, and may be copied from an earlier one for free);
 * - else, when the provider's request takes a seed: a fresh random seed, sent on the wire;
 * - else (Runway's Veo models, Beatoven, local providers, the script's LLM): a fresh take number,
 *   in the inputs hash only — the request is the same, but it is a new, paid call.
 * The pipeline never picks a take, so its own identical requests still hit the caches.
 */
import { catalogEntry } from "../providers/registry/provider-catalog.ts";
import type { ProviderType } from "../providers/types.ts";

/** A seed when the provider takes one, else a take number that only keys the caches. */
export type Take = { seed: number; take?: undefined } | { seed?: undefined; take: number };

/** seed's range at every provider that takes one (Runway, fal, ElevenLabs: 0..4294967295). */
export const MAX_SEED = 4294967295;

/** A uniform random whole number in 0..MAX_SEED. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** Whether the provider (with this model) puts a seed on the wire. */
export function providerTakesSeed(type: ProviderType, provider: string, model: string): boolean {
  const entry = catalogEntry(type, provider);
  if (!entry) return false;
  const takes = entry.modelRequestSettings?.(model) ?? entry.requestSettings ?? [];
  return takes.includes("seed");
}

/** The take of a run: its pinned seed, else a fresh seed or take number from `random`. */
export function chooseTake(
  pinnedSeed: number | undefined,
  takesSeed: boolean,
  random: () => number = randomSeed,
): Take {
  if (pinnedSeed !== undefined) return { seed: pinnedSeed };
  return takesSeed ? { seed: random() } : { take: random() };
}
