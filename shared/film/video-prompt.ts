/**
 * The video request for one scene: a short prompt (buildShortVideoPrompt: at most 1000
 * characters, never the dialogue — that goes to audio) and the ratio/duration the video model
 * takes for the film's orientation.
 */
import type { Screenplay, VisualBible } from "../providers/film-schemas.ts";
import { RUNWAY_MODELS } from "../providers/runway/runway-models.ts";

export const VIDEO_PROMPT_MAX = 1000;
type Scene = Screenplay["scenes"][number];

/** Drops any dialogue line that leaked into a description, then any quoted speech. */
function withoutDialogue(text: string, lines: string[]): string {
  let out = text;
  for (const line of lines) if (line.trim()) out = out.split(line.trim()).join("");
  return out.replace(/["“”«»][^"“”«»]*["“”«»]/g, "").replace(/\s{2,}/g, " ").trim();
}

/** Style, place, time, action, characters, camera — cut at a word boundary to fit 1000 chars. */
export function buildShortVideoPrompt(
  scene: Scene,
  bible: Pick<VisualBible, "visual_style" | "lighting">,
  place: { name: string; weather: string },
): string {
  const lines = scene.dialogue.map((d) => d.line);
  const parts = [
    `${bible.visual_style}; ${bible.lighting}`,
    `${scene.header.setting}. ${place.name}, ${scene.header.time}, ${place.weather}`,
    scene.action_description.join(". "),
    scene.characters_in_scene.length ? `Characters: ${scene.characters_in_scene.join(", ")}` : "",
    `Camera: ${scene.camera.shot}, ${scene.camera.angle}, ${scene.camera.movement}`,
    scene.visual_prompt,
  ].map((part) => withoutDialogue(part, lines)).filter(Boolean);
  return fitPrompt(parts.join(". "));
}

/**
 * One shot's prompt: which shot of the scene it is and its beat (the scene's action lines in turn,
 * so a long scene moves on), then the scene's own prompt; cut like it to 1000 characters.
 */
export function buildShotPrompt(
  scenePrompt: string,
  scene: Scene,
  shotNumber: number,
  shots: number,
): string {
  if (shots <= 1) return scenePrompt;
  const beats = scene.action_description;
  const beat = withoutDialogue(beats[(shotNumber - 1) % beats.length], scene.dialogue.map((d) => d.line));
  const prompt = `Shot ${shotNumber} of ${shots}: ${beat}. ${scenePrompt}`;
  return fitPrompt(prompt);
}

function fitPrompt(prompt: string): string {
  if (prompt.length <= VIDEO_PROMPT_MAX) return prompt;
  const cut = prompt.slice(0, VIDEO_PROMPT_MAX);
  const space = cut.lastIndexOf(" ");
  return (space > VIDEO_PROMPT_MAX * 0.8 ? cut.slice(0, space) : cut).trimEnd();
}

export type Orientation = "landscape" | "portrait";

/**
 * Ratio and duration for the provider's model (its image_to_video rules: the film always has a
 * first frame): the nearest duration the model allows. A ratio or duration the user registered
 * for the provider (`registered`, from the adapter) replaces the film's own choice, so the cache
 * key and the frame size name what goes on the wire.
 */
export function videoShape(
  provider: string,
  model: string,
  orientation: Orientation,
  wantedSeconds: number,
  registered: { ratio?: string; durationSeconds?: number } = {},
): { ratio: string; durationSeconds: number } {
  const spec = provider === "runway" ? RUNWAY_MODELS[model]?.endpoints.image_to_video : undefined;
  if (spec) {
    const [landscape, portrait] = model.startsWith("gen3a")
      ? ["1280:768", "768:1280"]
      : ["1280:720", "720:1280"];
    const ratio = orientation === "portrait" ? portrait : landscape;
    const durationSeconds = [...spec.durations].sort((a, b) =>
      Math.abs(a - wantedSeconds) - Math.abs(b - wantedSeconds) || a - b
    )[0];
    return {
      ratio: registered.ratio ?? (spec.ratios.includes(ratio) ? ratio : spec.ratios[0]),
      durationSeconds: registered.durationSeconds ?? durationSeconds,
    };
  }
  // Local clips are drawn by FFmpeg: a small frame keeps offline films quick.
  return { ratio: orientation === "portrait" ? "360:640" : "640:360", durationSeconds: wantedSeconds };
}

/**
 * The film's frame ratio for its video model and orientation: what its clips, the joins of its
 * shots, its render and its location images are sized by.
 */
export function filmRatio(
  video: { provider: string; model: string; registered?: { ratio?: string; durationSeconds?: number } },
  orientation: Orientation,
): string {
  return videoShape(video.provider, video.model, orientation, 5, video.registered).ratio;
}

/** Pixel size of a "W:H" ratio. */
export function ratioSize(ratio: string): { width: number; height: number } {
  const [width, height] = ratio.split(":").map(Number);
  return { width, height };
}
