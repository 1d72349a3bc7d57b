import { describe, expect, it } from "vitest";
import { castVoices, ELEVENLABS_VOICES } from "../../shared/film/cast-voices.ts";

const [V0, V1, V2] = ELEVENLABS_VOICES;
const cast = (...names: string[]) => names.map((name) => ({ name }));
/** One scene per list of speakers, one line each. */
const scenes = (...speakers: string[][]) =>
  speakers.map((names) => ({
    dialogue: names.map((character) => ({
      character,
      line: "…",
      emotion: "calm",
      delivery: "flat",
      timing: 0,
    })),
  }));

describe("the voices of a film's cast", () => {
  it("gives a new character a voice no library character of the film holds, and keeps theirs", () => {
    // Film 1 gave Ada, Bruno and Carmen the first three voices; film 2 casts Dora (new), Ada, Bruno.
    const held = new Map([["ada", V0], ["bruno", V1]]);
    const voices = castVoices("elevenlabs", cast("Dora", "Ada", "Bruno"), held, scenes(["Dora", "Ada"]));
    // Before: Dora took the first voice by her place in the cast, Ada's.
    expect(voices.get("ada")).toBe(V0);
    expect(voices.get("bruno")).toBe(V1);
    expect(voices.get("dora")).toBe(V2);
  });

  it("keeps a library character's voice even where it is another's too", () => {
    const held = new Map([["ada", V0], ["bruno", V0]]);
    const voices = castVoices("elevenlabs", cast("Ada", "Bruno", "Dora"), held, []);
    expect([voices.get("ada"), voices.get("bruno")]).toEqual([V0, V0]);
    expect(voices.get("dora")).toBe(V1);
  });

  it("gives every character its own voice while the provider has enough, then repeats them evenly", () => {
    const names = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N"];
    const voices = castVoices("elevenlabs", cast(...names), new Map(), []);
    expect(new Set(names.slice(0, 6).map((n) => voices.get(n.toLowerCase()))).size).toBe(6);
    const uses = ELEVENLABS_VOICES.map((v) => [...voices.values()].filter((u) => u === v).length);
    // 14 characters on 6 voices: each voice two or three times.
    expect(Math.max(...uses) - Math.min(...uses)).toBeLessThanOrEqual(1);
  });

  it("never repeats a voice within a scene's speakers while another voice is free there", () => {
    const names = ["A", "B", "C", "D", "E", "F", "G"];
    // G speaks with A and B: A's voice, the one an even repeat would reuse first, is taken in that scene.
    const plan = scenes(["A", "G", "B"], ["C", "D"], ["E", "F"]);
    const voices = castVoices("elevenlabs", cast(...names), new Map(), plan);
    for (const scene of plan) {
      const spoken = scene.dialogue.map((d) => voices.get(d.character.toLowerCase()));
      expect(new Set(spoken).size).toBe(spoken.length);
    }
    expect(voices.get("g")).toBe(V2);
  });

  it("repeats only one voice in a scene of seven speakers on six voices", () => {
    const names = ["A", "B", "C", "D", "E", "F", "G"];
    const voices = castVoices("elevenlabs", cast(...names), new Map(), scenes(names));
    expect(new Set(voices.values()).size).toBe(6);
  });

  it("gives the same voices to the same plan and library, as a step run again must", () => {
    const held = new Map([["carmen", V1]]);
    const run = () =>
      castVoices("elevenlabs", cast("Dora", "Emil", "Carmen", "Fay"), held, scenes(["Dora", "Carmen"]));
    expect([...run()]).toEqual([...run()]);
  });

  it("casts anew a library character whose voice ElevenLabs cannot speak, and keeps ElevenLabs voices on local", () => {
    // Ada and Bruno were voiced on `local`; their owner has moved their voices to ElevenLabs.
    const held = new Map([["ada", "voice-ada"], ["bruno", "voice-bruno"], ["carmen", V0]]);
    const voices = castVoices(
      "elevenlabs",
      cast("Ada", "Bruno", "Carmen"),
      held,
      scenes(["Ada", "Bruno", "Carmen"]),
    );
    expect(voices.get("carmen")).toBe(V0);
    expect([voices.get("ada"), voices.get("bruno")]).toEqual([V1, V2]);
    // `local` speaks any id: an ElevenLabs voice stays.
    expect(castVoices("local", cast("Carmen"), held, []).get("carmen")).toBe(V0);
  });

  it("names a voice after the character for providers that speak any id, numbered on when taken", () => {
    const held = new Map([["ada", "voice-ada"]]);
    const voices = castVoices("local", cast("Ada", "Mary Ann", "Mary-Ann"), held, []);
    expect([...voices.values()]).toEqual(["voice-ada", "voice-mary-ann", "voice-mary-ann-2"]);
  });
});
