/**
 * A film's orientation against the frame its video provider is registered with. A ratio on the
 * Runway row replaces the one the orientation picks for every clip, join, render and location
 * image (video-prompt.ts `videoShape`), so a portrait film on a row registered 1280:720 was made
 * 1280x720 without a word. produce-movie's quote and start now refuse that before anything is
 * written or paid for, and a brief that names no orientation takes the registered one.
 */
import { BadRequestError } from "../errors.ts";
import { registeredRatio } from "../providers/runway/runway-models.ts";
import type { QuoteVideo } from "./film-quote.ts";
import { type Orientation, videoShape } from "./video-prompt.ts";

/** The film's video provider as the check reads it: whose row it is names who can change it. */
export type OrientedVideo = QuoteVideo & { source?: "user" | "project" | "fallback" };

/**
 * The orientation of a "W:H" ratio; null for a square one. A square frame is neither wider nor
 * taller, so it contradicts neither orientation: its owner chose it for every film, and refusing
 * both would leave that row unable to make any film at all.
 */
export function ratioOrientation(ratio: string): Orientation | null {
  const [width, height] = ratio.split(":").map(Number);
  if (width === height) return null;
  return width > height ? "landscape" : "portrait";
}

/** The orientation a film takes: the one asked, else the registered ratio's, else landscape. */
export function filmOrientation(asked: Orientation | undefined, video: QuoteVideo): Orientation {
  const ratio = registeredRatio(video.provider, video.settings);
  return asked ?? (ratio === undefined ? null : ratioOrientation(ratio)) ?? "landscape";
}

/** 400 `orientation_conflict` when the registered ratio would make the film the other way round. */
export function assertOrientationFits(orientation: Orientation, video: OrientedVideo): void {
  const ratio = registeredRatio(video.provider, video.settings);
  const shape = ratio === undefined ? null : ratioOrientation(ratio);
  if (shape === null || shape === orientation) return;
  const fitting = videoShape(video.provider, video.model, orientation, 5).ratio;
  const row = video.source === "project" ? "the project's default" : "your";
  const change = video.source === "project"
    ? `register a ${video.provider} video provider of your own (providers register) with settings.ratio ${fitting} or none`
    : `register the video provider again (providers register) with settings.ratio ${fitting}, or with no ratio so each film's orientation picks it`;
  throw new BadRequestError(
    "orientation_conflict",
    `orientation "${orientation}" contradicts the ratio ${ratio} (${shape}) registered on ${row} ${video.provider} ${video.model} video provider, which every clip of the film would be made at; ask for orientation "${shape}", or ${change}`,
  );
}
