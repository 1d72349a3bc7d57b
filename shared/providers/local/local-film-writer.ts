/**
 * The offline writer behind the local LLM: a production plan, visual bible and screenplay that
 * follow from the film brief alone, so the same brief always gives the same film, and the three
 * answers agree with each other (same characters, locations and scene count).
 */
import type { FilmBrief, ProductionPlan, Screenplay, VisualBible } from "../film-schemas.ts";
import { MAX_SCENE_SECONDS, sceneCountFor, slug, TIMES_OF_DAY, WEATHERS } from "../film-schemas.ts";
import { seededRandom } from "./seeded-random.ts";

const NAMES = [
  "Ada",
  "Bruno",
  "Carmen",
  "Dario",
  "Elena",
  "Felix",
  "Greta",
  "Hugo",
  "Ines",
  "Jonas",
  "Lucia",
  "Mateo",
];
const PLACES = [
  "harbour at the edge of town",
  "abandoned observatory",
  "night market",
  "mountain railway station",
  "old lighthouse",
  "rooftop garden",
  "desert motel",
  "flooded library",
  "forest clearing",
  "city tram depot",
];
const PALETTES: Record<string, string[]> = {
  warm: ["#f4a259", "#bc4b51", "#5b8e7d", "#f4e285"],
  cold: ["#1b263b", "#415a77", "#778da9", "#e0e1dd"],
  dusk: ["#2d1e2f", "#c15b78", "#f7a072", "#eddea4"],
};
const MOVES = ["slow push in", "lateral dolly", "static wide", "slow pull out", "handheld follow"];
const ANGLES = ["eye level", "low angle", "high angle"];
const SHOTS = ["wide shot", "medium shot", "close-up"];
const EMOTIONS = ["hopeful", "uneasy", "determined", "wistful", "amused"];

/** The prompt's most telling words, longest first, for lines and prompts that echo it. */
function keywords(prompt: string): string[] {
  const words = prompt.toLowerCase().match(/[\p{L}]{4,}/gu) ?? [];
  const unique = [...new Set(words)].sort((a, b) => b.length - a.length || a.localeCompare(b));
  return unique.length ? unique.slice(0, 6) : ["journey"];
}

export function sceneCount(brief: FilmBrief): number {
  return sceneCountFor(brief.duration_minutes);
}

export function writeProductionPlan(brief: FilmBrief): ProductionPlan {
  const rng = seededRandom(`plan|${brief.title}|${brief.prompt}|${brief.genre}`);
  const words = keywords(brief.prompt);
  const names = rng.sample(NAMES, 3);
  const places = rng.sample(PLACES, Math.min(3, sceneCount(brief)));
  const locations = places.map((place) => ({
    location_id: slug(place),
    name: place.replace(/^./, (c) => c.toUpperCase()),
    description: `The ${place}, where the ${words[0]} ${brief.genre} unfolds`,
    time_of_day: rng.pick(TIMES_OF_DAY),
    weather: rng.pick(WEATHERS),
    needs_web_search: false,
  }));
  let previousLocation = "";
  const continuity = Array.from({ length: sceneCount(brief) }, (_, i) => {
    // Two scenes in a row at one location play as one continuous shot.
    const location = i > 0 && rng.next() < 0.4 ? previousLocation : rng.pick(locations).location_id;
    const isContinuation = i > 0 && location === previousLocation;
    previousLocation = location;
    return {
      scene_number: i + 1,
      is_continuation: isContinuation,
      continues_from: isContinuation ? i : null,
      location_id: location,
      frame_reference: isContinuation ? `last frame of scene ${i}` : `establishing view of ${location}`,
    };
  });
  return {
    logline: `In ${brief.title}, ${names[0]} follows the ${words[0]} while ${names[2]} stands in the way.`,
    locations,
    characters: names.map((name, i) => ({
      name,
      role: (["protagonist", "supporting", "antagonist"] as const)[i],
      description: `${name}, ${["curious and stubborn", "loyal and wry", "calm and calculating"][i]}`,
      voice_description: ["warm, mid-pitched", "bright and quick", "low and measured"][i],
    })),
    continuity,
  };
}

export function writeVisualBible(brief: FilmBrief): VisualBible {
  const rng = seededRandom(`bible|${brief.title}|${brief.prompt}|${brief.genre}`);
  const mood = rng.pick(Object.keys(PALETTES));
  return {
    visual_style: `${mood}-toned ${brief.genre}, painterly frames`,
    color_palette: PALETTES[mood],
    camera_style: `${rng.pick(MOVES)}s, ${rng.pick(SHOTS)}s`,
    lighting: mood === "cold" ? "hard moonlight, deep shadows" : "low golden light, soft shadows",
    emotional_tone: rng.pick(EMOTIONS),
    cinematic_references: rng.sample(
      ["In the Mood for Love", "Paris, Texas", "Stalker", "Amélie", "Drive"],
      2,
    ),
  };
}

export function writeScreenplay(brief: FilmBrief): Screenplay {
  const plan = writeProductionPlan(brief);
  const bible = writeVisualBible(brief);
  const rng = seededRandom(`screenplay|${brief.title}|${brief.prompt}|${brief.genre}`);
  const words = keywords(brief.prompt);
  const scenes = plan.continuity.map((beat) => {
    const location = plan.locations.find((l) => l.location_id === beat.location_id)!;
    const cast = rng.sample(plan.characters, rng.int(1, 2)).map((c) => c.name);
    // A proposal around the even share, as a writer's would be: the planner scales it to length.
    const share = (brief.duration_minutes * 60) / plan.continuity.length;
    const screen = Math.min(
      MAX_SCENE_SECONDS,
      Math.max(2, Math.round(share * rng.pick([0.7, 0.85, 1, 1.15, 1.3]))),
    );
    const word = words[(beat.scene_number - 1) % words.length];
    const lines = [
      `We are close to the ${word}.`,
      `Nobody else remembers the ${word}.`,
      `Then we go tonight.`,
    ];
    const camera = { movement: rng.pick(MOVES), angle: rng.pick(ANGLES), shot: rng.pick(SHOTS) };
    const action = [
      `${cast[0]} crosses the ${location.name.toLowerCase()}`,
      `${cast[0]} stops, listening for the ${word}`,
    ];
    return {
      scene_number: beat.scene_number,
      scene_id: `scene-${beat.scene_number}`,
      header: { location: location.name, time: location.time_of_day, setting: "EXT" as const },
      characters_in_scene: cast,
      action_description: action,
      dialogue: cast.map((character, i) => ({
        character,
        line: lines[(beat.scene_number + i) % lines.length],
        emotion: rng.pick(EMOTIONS),
        delivery: i === 0 ? "quiet" : "firm",
        timing: Math.round(screen * (0.1 + i * 0.4) * 10) / 10,
      })),
      duration: { screen_time_seconds: screen, real_time_seconds: screen },
      camera,
      visual_prompt: [
        bible.visual_style,
        `${location.name} at ${location.time_of_day}, ${location.weather}`,
        action.join(", "),
        `${camera.shot}, ${camera.movement}`,
      ].join(". ").slice(0, 1000),
    };
  });
  return { title: brief.title, scenes };
}
