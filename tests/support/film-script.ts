/**
 * The LLM answers for a film of a chosen shape — N scenes, some of them continuation chains —
 * that the OpenAI fake gives back (answerWith), so a test or benchmark decides the DAG it runs:
 * the production plan's continuity, the visual bible and a screenplay that agree with each other.
 * Pure and runtime-neutral (vitest and the Deno benchmark both use it).
 */
import type { ProductionPlan, Screenplay, VisualBible } from "../../shared/providers/film-schemas.ts";
import { FILM_FPS, transitionBetween } from "../../shared/film/film-timeline.ts";

export interface FilmShape {
  scenes: number;
  /** Runs of consecutive scene numbers, each scene continuing the one before it (e.g. [2, 3, 4]). */
  chains: number[][];
  /** Clip length per scene, seconds (2–10); default 2 and 3 alternating. */
  clipSeconds?: (sceneNumber: number) => number;
  /** Dialogue lines per scene; default 2 in the 3 s scenes, 1 in the 2 s ones. */
  linesPerScene?: (sceneNumber: number) => number;
}

export const CHARACTERS = [
  {
    name: "Ada",
    role: "protagonist",
    description: "Ada, a stubborn harbour pilot",
    voice_description: "warm, mid-pitched",
  },
  {
    name: "Bruno",
    role: "supporting",
    description: "Bruno, her wry deckhand",
    voice_description: "bright and quick",
  },
  {
    name: "Carmen",
    role: "antagonist",
    description: "Carmen, a calm smuggler",
    voice_description: "low and measured",
  },
] as const;

const LOCATIONS = [
  {
    location_id: "harbour",
    name: "Harbour",
    description: "The harbour at the edge of town",
    time_of_day: "dusk",
    weather: "fog",
  },
  {
    location_id: "lighthouse",
    name: "Lighthouse",
    description: "The old lighthouse on the rocks",
    time_of_day: "night",
    weather: "clear",
  },
  {
    location_id: "market",
    name: "Night market",
    description: "A crowded night market",
    time_of_day: "night",
    weather: "rain",
  },
] as const;

/** Each scene's place: a chain stays at one location; scenes between chains take turns. */
export function sceneLocations(shape: FilmShape): Map<number, (typeof LOCATIONS)[number]> {
  const places = new Map<number, (typeof LOCATIONS)[number]>();
  let turn = 0;
  for (let n = 1; n <= shape.scenes; n++) {
    const chain = shape.chains.find((c) => c.includes(n));
    if (chain && chain[0] !== n) places.set(n, places.get(chain[0])!);
    else places.set(n, LOCATIONS[turn++ % LOCATIONS.length]);
  }
  return places;
}

/** The scene that `n` continues, or null. */
export function continuesFrom(shape: FilmShape, n: number): number | null {
  const chain = shape.chains.find((c) => c.includes(n));
  const at = chain ? chain.indexOf(n) : -1;
  return at > 0 ? chain![at - 1] : null;
}

const defaultSeconds = (n: number) => (n % 2 === 0 ? 2 : 3);
const defaultLines = (n: number) => (n % 2 === 0 ? 1 : 2);

/** The dialogue line texts of scene `n`, unique across the film (so paid inputs never repeat). */
export function sceneLines(shape: FilmShape, n: number): { character: string; line: string }[] {
  const count = (shape.linesPerScene ?? defaultLines)(n);
  return Array.from(
    { length: count },
    (_, i) => ({
      character: CHARACTERS[(n + i) % CHARACTERS.length].name,
      line: `Scene ${n}, line ${i + 1}.`,
    }),
  );
}

/** A marker in every scene's visual prompt, so a fake can script one scene's job. */
export const sceneMarker = (n: number) => `[scene-${n}]`;

export function productionPlan(shape: FilmShape): ProductionPlan {
  checkShape(shape);
  const places = sceneLocations(shape);
  return {
    logline: "A harbour pilot follows a smuggler's light through one long night.",
    locations: LOCATIONS.map((l) => ({ ...l, needs_web_search: false })),
    characters: CHARACTERS.map((c) => ({ ...c })),
    continuity: Array.from({ length: shape.scenes }, (_, i) => {
      const n = i + 1;
      const from = continuesFrom(shape, n);
      return {
        scene_number: n,
        is_continuation: from !== null,
        continues_from: from,
        location_id: places.get(n)!.location_id,
        frame_reference: from !== null
          ? `last frame of scene ${from}`
          : `establishing view of ${places.get(n)!.name}`,
      };
    }),
  };
}

export function visualBible(): VisualBible {
  return {
    visual_style: "moody maritime realism",
    color_palette: ["#1b263b", "#415a77", "#778da9", "#e0e1dd"],
    camera_style: "slow, patient moves",
    lighting: "sodium lamps and fog",
    emotional_tone: "tense, hopeful",
    cinematic_references: ["The Third Man"],
  };
}

export function screenplay(shape: FilmShape, title: string): Screenplay {
  checkShape(shape);
  const places = sceneLocations(shape);
  const seconds = shape.clipSeconds ?? defaultSeconds;
  return {
    title,
    scenes: Array.from({ length: shape.scenes }, (_, i) => {
      const n = i + 1;
      const place = places.get(n)!;
      const lines = sceneLines(shape, n);
      return {
        scene_number: n,
        scene_id: `scene-${n}`,
        header: { location: place.name, time: place.time_of_day, setting: "EXT" as const },
        characters_in_scene: [...new Set(lines.map((l) => l.character))],
        action_description: [`Beat ${n}: the light moves across the ${place.name.toLowerCase()}`],
        dialogue: lines.map((l, j) => ({
          character: l.character,
          line: l.line,
          emotion: "uneasy",
          delivery: "quiet",
          timing: 0.2 + j * 1.1,
        })),
        duration: { screen_time_seconds: seconds(n), real_time_seconds: seconds(n) },
        camera: { movement: "slow push in", angle: "eye level", shot: "wide shot" },
        visual_prompt: `${sceneMarker(n)} ${place.description}, ${place.time_of_day}, ${place.weather}`,
      };
    }),
  };
}

/** The OpenAI fake's answerWith callback for this shape. */
export function filmAnswers(shape: FilmShape, title: string) {
  return (schemaName: string): unknown => {
    if (schemaName === "production_plan") return productionPlan(shape);
    if (schemaName === "visual_bible") return visualBible();
    if (schemaName === "screenplay") return screenplay(shape, title);
    return undefined;
  };
}

/**
 * The film's duration_minutes that plays this shape's scenes at their own lengths: the planner
 * scales the screenplay's times so the film, minus its transitions' overlaps, lasts what was asked
 * (shared/film/shot-plan.ts), so a shape asks for its scenes' sum minus those overlaps (to the
 * column's hundredth of a minute, which the planner's rounding absorbs).
 */
export function durationMinutesFor(shape: FilmShape): number {
  const seconds = shape.clipSeconds ?? defaultSeconds;
  const places = sceneLocations(shape);
  const view = (n: number) => ({
    isContinuation: continuesFrom(shape, n) !== null,
    timeOfDay: places.get(n)!.time_of_day,
    locationSlug: places.get(n)!.location_id,
  });
  let total = 0;
  for (let n = 1; n <= shape.scenes; n++) {
    total += seconds(n);
    const transition = n < shape.scenes ? transitionBetween(view(n), view(n + 1)) : undefined;
    if (transition && transition.type !== "cut") total -= transition.frames / FILM_FPS;
  }
  return Math.round((total / 60) * 100) / 100;
}

function checkShape(shape: FilmShape) {
  for (const chain of shape.chains) {
    chain.forEach((n, i) => {
      if (n < 1 || n > shape.scenes) throw new Error(`chain scene ${n} is outside 1..${shape.scenes}`);
      if (i > 0 && n !== chain[i - 1] + 1) {
        throw new Error(`chain ${chain.join(",")} is not a run of consecutive scenes`);
      }
    });
  }
}

/** The shape the film tests and the benchmark use: two chains every 12 scenes (3 and 4 long). */
export function twoChainsPerTwelve(scenes: number): FilmShape {
  const chains: number[][] = [];
  for (let base = 0; base + 12 <= scenes; base += 12) {
    chains.push([base + 2, base + 3, base + 4], [base + 7, base + 8, base + 9, base + 10]);
  }
  return { scenes, chains };
}

/**
 * A film of `minutes` in `scenes` scenes (two chains every 12), each scene proposing its even
 * share of the length: the planner then cuts every scene into shots of the video model's grid
 * (several per scene once a share passes the longest shot), as a long film is made.
 */
export function filmOfMinutes(minutes: number, scenes = 12): FilmShape {
  const share = Math.round(((minutes * 60) / scenes) * 100) / 100;
  return { ...twoChainsPerTwelve(scenes), clipSeconds: () => share };
}
