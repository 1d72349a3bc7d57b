/**
 * The three reference-image cases, in order: the previous scene's real end frame for a
 * continuation, else the location library's image for slug + time of day + weather, else a new
 * image (saved to the library). There is never a placeholder.
 */
import { isValidMediaUrl } from "./assembly-rules.ts";

export type ReferenceSource = "previous_frame" | "library" | "generated";

export interface ReferenceFacts {
  isContinuation: boolean;
  /** The end frame of the scene this one continues; null when it failed or has none. */
  previousEndFrameUrl: string | null;
  libraryImageUrl: string | null;
}

export function chooseReferenceSource(facts: ReferenceFacts): ReferenceSource {
  if (facts.isContinuation && isValidMediaUrl(facts.previousEndFrameUrl)) return "previous_frame";
  if (isValidMediaUrl(facts.libraryImageUrl)) return "library";
  return "generated";
}

/** What a generated location image shows. */
export function locationImagePrompt(
  place: { name: string; timeOfDay: string; weather: string },
  style: string,
): string {
  return `${place.name} at ${place.timeOfDay}, ${place.weather} weather, empty establishing shot, ${style}`
    .slice(0, 1000);
}
