/**
 * Which voice each character of a film speaks with. A character already in the owner's library
 * keeps its voice (the same speaker in every film); a new one gets a voice no other character of
 * this film's cast holds. Before, a voice came from the character's place in this film's cast, so
 * a new character could land on the voice a library character already had, and both spoke as one.
 */
import type { Screenplay } from "../providers/film-schemas.ts";
import { speaksVoice } from "../providers/registry/provider-catalog.ts";

/** ElevenLabs premade voices; other providers (local) take any id and derive a voice from it. */
export const ELEVENLABS_VOICES = [
  "21m00Tcm4TlvDq8ikWAM",
  "AZnzlk1XvdvUeBnXmlld",
  "EXAVITQu4vr4xnSDxMaL",
  "ErXwobaYiN019PkySvjV",
  "MF3mGyEYCl7XYWbV9V6O",
  "TxGEqnHWrfWFTfGW9XTX",
];

/** A character's key in the library (characters.name_key) and in a film's cast. */
export const nameKey = (name: string) => name.trim().toLowerCase();

/**
 * The voice of every cast member, by name key. `held`: the voices of cast members already in the
 * library, kept as they are where the provider speaks them; where it does not (a voice of another
 * provider), that character is cast as a new one, and the caller moves the library to the new
 * voice. New characters are given theirs in cast order, each the voice that
 * (1) the fewest characters it speaks a scene with hold, then (2) the fewest of the cast hold,
 * then (3) comes first in the provider's list. So with enough voices nobody shares one; with more
 * characters than voices they repeat as evenly as they can, and two who speak in one scene share
 * one only when every voice is already spoken in that scene. Greedy, not optimal: simple, and a
 * pure function of its inputs, so a step that runs again on the same plan, screenplay and library
 * gives the same voices. Providers without a fixed list speak any id: there the name's own id,
 * numbered on when another cast member holds it.
 */
export function castVoices(
  provider: string,
  cast: { name: string }[],
  held: ReadonlyMap<string, string>,
  scenes: Pick<Screenplay["scenes"][number], "dialogue">[],
): Map<string, string> {
  const voices = new Map<string, string>();
  for (const { name } of cast) {
    const key = nameKey(name);
    const voice = held.get(key);
    if (voice !== undefined && speaksVoice(provider, voice)) voices.set(key, voice);
  }
  const speakers = scenes.map((scene) => new Set(scene.dialogue.map((line) => nameKey(line.character))));
  for (const { name } of cast) {
    const key = nameKey(name);
    if (voices.has(key)) continue;
    const taken = [...voices.values()];
    if (provider !== "elevenlabs") {
      const own = `voice-${key.replace(/[^a-z0-9]+/g, "-")}`;
      let voice = own;
      for (let n = 2; taken.includes(voice); n++) voice = `${own}-${n}`;
      voices.set(key, voice);
      continue;
    }
    const mates = [...voices].filter(([other]) => speakers.some((s) => s.has(key) && s.has(other)));
    const score = (voice: string) => [
      mates.filter(([, v]) => v === voice).length,
      taken.filter((v) => v === voice).length,
    ];
    const [best] = [...ELEVENLABS_VOICES].sort((a, b) => {
      const [sa, sb] = [score(a), score(b)];
      return sa[0] - sb[0] || sa[1] - sb[1];
    });
    voices.set(key, best);
  }
  return voices;
}
