/**
 * The LLM answers of the film pipeline (the film tables' field names): production plan, visual bible,
 * screenplay. Real LLMs get the strict JSON schemas derived from these; every answer, real or
 * local, is parsed with the same zod schema, so a mismatch is an error, never a half film.
 */
import { z } from "zod";
import type { JsonRequest } from "./types.ts";
import { toStrictJsonSchema } from "./strict-json-schema.ts";

const text = z.string().min(1);
/** A location's slug from its id or name (locations_library.location_slug, movie_scenes.location_slug). */
export function slug(text: string): string {
  return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(
    0,
    60,
  ) || "untitled";
}

/** A scene's longest screen time: 10 minutes, cut into shots by the planner. */
export const MAX_SCENE_SECONDS = 600;

/**
 * How many scenes to ask the screenwriter for: a scene runs about 30 s in a one-minute film and
 * grows with the film (30 s × √minutes, at most 2 minutes), at least 2 scenes, at most 60.
 */
export function sceneCountFor(durationMinutes: number): number {
  const sceneSeconds = Math.min(120, 30 * Math.sqrt(durationMinutes));
  return Math.min(60, Math.max(2, Math.ceil((durationMinutes * 60) / sceneSeconds)));
}

export const TIMES_OF_DAY = ["dawn", "day", "dusk", "night"] as const;
export const WEATHERS = ["clear", "cloudy", "rain", "fog", "snow"] as const;

export const productionPlanSchema = z.object({
  logline: text,
  locations: z.array(z.object({
    location_id: text,
    name: text,
    description: text,
    time_of_day: z.enum(TIMES_OF_DAY),
    weather: z.enum(WEATHERS),
    needs_web_search: z.boolean(),
  })).min(1),
  characters: z.array(z.object({
    name: text,
    role: z.enum(["protagonist", "antagonist", "supporting"]),
    description: text,
    voice_description: text,
  })).min(1),
  continuity: z.array(z.object({
    scene_number: z.number().int().min(1),
    is_continuation: z.boolean(),
    continues_from: z.number().int().min(1).nullable(),
    location_id: text,
    /** What the previous scene's last frame must show for the cut to hold (a frame reference). */
    frame_reference: text,
  })).min(1),
});
export type ProductionPlan = z.infer<typeof productionPlanSchema>;

export const visualBibleSchema = z.object({
  visual_style: text,
  color_palette: z.array(z.string().regex(/^#[0-9a-fA-F]{6}$/)).min(3).max(8),
  camera_style: text,
  lighting: text,
  emotional_tone: text,
  cinematic_references: z.array(text).min(1).max(5),
});
export type VisualBible = z.infer<typeof visualBibleSchema>;

export const screenplaySchema = z.object({
  title: text,
  scenes: z.array(z.object({
    scene_number: z.number().int().min(1),
    scene_id: text,
    header: z.object({ location: text, time: z.enum(TIMES_OF_DAY), setting: z.enum(["INT", "EXT"]) }),
    characters_in_scene: z.array(text),
    /** Beat by beat. */
    action_description: z.array(text).min(1),
    dialogue: z.array(z.object({
      character: text,
      line: text,
      emotion: text,
      delivery: text,
      /** Seconds from the scene's start. */
      timing: z.number().min(0),
    })),
    /** The writer's proposal: the planner scales it to the film's length (shot-plan.ts). */
    duration: z.object({
      screen_time_seconds: z.number().int().min(1).max(MAX_SCENE_SECONDS),
      real_time_seconds: z.number().int().min(1),
    }),
    camera: z.object({ movement: text, angle: text, shot: text }),
    /** For the video provider: no dialogue (that goes to audio), at most 1000 characters (Runway). */
    visual_prompt: z.string().min(1).max(1000),
  })).min(1),
});
export type Screenplay = z.infer<typeof screenplaySchema>;

export const FILM_SCHEMAS = {
  production_plan: productionPlanSchema,
  visual_bible: visualBibleSchema,
  screenplay: screenplaySchema,
} as const;
export type FilmSchemaName = keyof typeof FILM_SCHEMAS;

/** What every film LLM request starts from; the local LLM reads it back from the user message. */
export interface FilmBrief {
  title: string;
  prompt: string;
  genre: string;
  duration_minutes: number;
}

const BRIEF_OPEN = "<film_brief>";
const BRIEF_CLOSE = "</film_brief>";

/** The brief as a tagged JSON block, to open every film request's user message with. */
export function filmBriefBlock(brief: FilmBrief): string {
  return `${BRIEF_OPEN}${JSON.stringify(brief)}${BRIEF_CLOSE}`;
}

export function readFilmBrief(message: string): FilmBrief | null {
  const start = message.indexOf(BRIEF_OPEN);
  const end = message.indexOf(BRIEF_CLOSE, start);
  if (start < 0 || end < 0) return null;
  try {
    const brief = JSON.parse(message.slice(start + BRIEF_OPEN.length, end));
    return typeof brief?.title === "string" && typeof brief?.prompt === "string" ? brief : null;
  } catch {
    return null;
  }
}

/** A JsonRequest for one of the film schemas, with its strict JSON schema. */
export function filmRequest<N extends FilmSchemaName>(
  name: N,
  messages: { system: string; user: string },
): JsonRequest<z.infer<(typeof FILM_SCHEMAS)[N]>> {
  // TypeScript does not narrow FILM_SCHEMAS[name] by the generic N (a correlated union): same value.
  const parse = FILM_SCHEMAS[name] as unknown as z.ZodType<z.infer<(typeof FILM_SCHEMAS)[N]>>;
  return { name, schema: toStrictJsonSchema(FILM_SCHEMAS[name]), parse, ...messages };
}
