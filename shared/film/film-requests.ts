/**
 * The pipeline's provider requests that regenerate-asset re-issues as its defaults: pure
 * builders from the film's own rows, kept apart from the task handlers that send them.
 */
import { catalogEntry } from "../providers/registry/provider-catalog.ts";
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

/**
 * The film's planned seconds, what its score must cover: the screenplay's scene times as the
 * planner cut them (generate_screenplay: each scene the sum of its shots, so transitions' overlaps
 * count too, a second at most each, which the render cuts), else the length asked.
 * The cut may land up to 10 % off the length asked, so the minutes alone can leave the last
 * seconds without music (8 s clips for 0.25 minutes: a 16 s film, scored for 15 s).
 */
export function plannedFilmSeconds(movie: Pick<MovieRow, "duration_minutes" | "metadata">): number {
  const scenes = movie.metadata.screenplay_detailed?.scenes ?? [];
  if (scenes.length === 0) return Number(movie.duration_minutes) * 60;
  return scenes.reduce((sum, scene) => sum + scene.duration.screen_time_seconds, 0);
}

/**
 * The pipeline's background track request (regenerate-asset's default for music): `filmSeconds`
 * long (whole seconds, at least 5), at most what the music provider takes in one request; the
 * render loops a shorter track to the film's end (assemble-command.ts).
 */
export function filmScoreRequest(
  movie: Pick<MovieRow, "genre" | "title" | "prompt">,
  filmSeconds: number,
  musicProvider: string,
) {
  const longest = catalogEntry("music", musicProvider)?.maxDurationSeconds;
  if (longest === undefined) throw new Error(`music provider ${musicProvider} states no longest track`);
  return {
    prompt: `${movie.genre} film score for ${movie.title}: ${movie.prompt}`.slice(0, 500),
    // Rounded up: a track a fraction short ends before the picture does.
    durationSeconds: Math.min(longest, Math.max(5, Math.ceil(filmSeconds - 1e-9))),
  };
}
