/**
 * The pipeline's provider requests that regenerate-asset re-issues as its defaults: pure
 * builders from the film's own rows, kept apart from the task handlers that send them.
 */
import type { MovieRow } from "./film-movie.ts";

/** A character's portrait request (assign_characters). */
export const portraitRequest = (c: { name: string; description: string }) => ({
  prompt: `Portrait of ${c.name}: ${c.description}`,
  width: 512,
  height: 512,
  purpose: "character" as const,
});

/** The pipeline's poster request (regenerate-asset's default for a cover). */
export function posterRequest(movie: Pick<MovieRow, "title" | "prompt" | "orientation">) {
  const portrait = movie.orientation === "portrait";
  return {
    prompt: `Movie poster for ${movie.title}: ${movie.prompt}, cinematic, professional`.slice(0, 1000),
    width: portrait ? 512 : 768,
    height: portrait ? 768 : 512,
    purpose: "poster" as const,
  };
}

/** The pipeline's background track request (regenerate-asset's default for music): the film's length, 5..600 s. */
export function filmScoreRequest(movie: Pick<MovieRow, "genre" | "title" | "prompt" | "duration_minutes">) {
  const seconds = Math.max(5, Math.round(Number(movie.duration_minutes) * 60));
  return {
    prompt: `${movie.genre} film score for ${movie.title}: ${movie.prompt}`.slice(0, 500),
    durationSeconds: Math.min(600, seconds),
  };
}
