/**
 * produce-movie quote: what the film of a brief would cost before it is made — per provider and
 * in total in each provider's own units, the calls of each kind and the expected wall time —
 * from the planner's own rules (sceneCountFor, planShots, filmScoreRequest) and the caller's providers.
 * The screenplay is not written yet when a film is quoted: what depends on it (clip lengths,
 * characters, locations, dialogue lines, LLM tokens) is estimated by the documented assumptions
 * below and named in `estimates`. No price: the catalog states none with a source, so no money.
 */
import type { ProviderType } from "../providers/types.ts";
import { filmScoreRequest } from "./film-requests.ts";
import { isPaidProvider } from "./film-budget.ts";
import { BadRequestError } from "../errors.ts";
import { maxScenesFor, sceneCountFor } from "./scene-plan.ts";
import { planShots, shotGrid } from "./shot-plan.ts";
import { registeredDuration } from "../providers/runway/runway-models.ts";

/** The longest a transition between scenes overlaps them (a fade): quotes count every one as a fade. */
const MAX_OVERLAP_SECONDS = 1;
/** Assumptions for what only the screenplay knows. */
export const ASSUMED = {
  tokensPerLlmCall: 4000,
  characters: 3,
  linesPerScene: 2,
  charactersPerLine: 80,
};
/**
 * Typical seconds per call of each kind, documented defaults (the catalog has no latencies): a
 * film's wall time is its longest path through them (film-pipeline.md "Quote and cap").
 */
export const TYPICAL_SECONDS: Record<string, number> = {
  llm: 20,
  image: 10,
  video: 90,
  voice: 3,
  lipsync: 60,
  music: 60,
  render: 15,
};

export interface QuoteBrief {
  title: string;
  prompt: string;
  genre: string;
  durationMinutes: number;
}

/** Only what a quote reads of a resolved provider (resolve-providers.ts). */
export type QuoteProviders = Record<
  ProviderType,
  {
    provider: string;
    model: string;
    source: "user" | "project" | "fallback";
    settings?: Record<string, unknown>;
  }
>;

/** The film's video provider as the planner needs it: a registered Runway duration is its only length. */
export type QuoteVideo = { provider: string; model: string; settings?: Record<string, unknown> };

/**
 * The clip lengths the film is cut into, as the film cuts it (preproduction.ts): a duration the
 * owner registered on a Runway row is the only one, as its adapter sends it (runway-video.ts
 * `registered`). Before, the quote and the length check used the model's grid: a registered 10 s
 * clip made a 6 s film 10 s long, quoted as two clips of 3 and 4 s.
 */
export function filmGrid(video: QuoteVideo): number[] {
  const durationSeconds = registeredDuration(video.provider, video.settings);
  return shotGrid(video.provider, video.model, durationSeconds === undefined ? {} : { durationSeconds });
}

/** One kind of call the film makes. `estimated`: the count or units depend on the screenplay. */
export interface QuoteItem {
  kind: string;
  type: ProviderType;
  calls: number;
  units: number;
  unit: string;
  estimated: boolean;
}

export interface FilmQuote {
  sceneCount: number;
  perProvider: {
    provider: string;
    model: string;
    type: ProviderType;
    paid: boolean;
    calls: number;
    units: number;
    unit: string;
  }[];
  total: { units: Record<string, number>; capUnits: number };
  callsByKind: Record<string, number>;
  expectedWallSeconds: number;
  estimates: string[];
}

/**
 * The film's shots as the planner would cut them if the screenplay gave every scene the same time
 * and every transition were a fade: the seconds are the film's length plus those overlaps (exact
 * to a grid step); the count of shots moves by about one per scene with the screenplay's times.
 */
export function quoteShots(durationMinutes: number, video: QuoteVideo) {
  const cut = quoteCut(durationMinutes, filmGrid(video));
  return {
    scenes: cut.scenes.length,
    shots: cut.scenes.reduce((sum, s) => sum + s.shots.length, 0),
    seconds: cut.scenes.reduce((sum, s) => sum + s.seconds, 0),
    joins: cut.scenes.filter((s) => s.shots.length > 1).length,
  };
}

function quoteCut(durationMinutes: number, grid: number[], overlapSeconds = MAX_OVERLAP_SECONDS) {
  // As many as the film keeps: every scene needs one shot of the grid's shortest (preproduction.ts).
  const scenes = Math.min(sceneCountFor(durationMinutes), maxScenesFor(durationMinutes * 60, grid[0]));
  return planShots(
    Array.from({ length: scenes }, (_, i) => ({
      sceneNumber: i + 1,
      proposedSeconds: 1,
      overlapAfterSeconds: overlapSeconds,
    })),
    durationMinutes * 60,
    grid,
  );
}

/** The calls the pipeline makes for a brief, kind by kind (produce-task.ts and its children). */
export function quoteItems(brief: QuoteBrief, providers: QuoteProviders): QuoteItem[] {
  const { scenes, shots, seconds, joins } = quoteShots(brief.durationMinutes, providers.video);
  const lipsync = providers.lipsync.source !== "fallback";
  const music = providers.music.source !== "fallback";
  const lines = scenes * ASSUMED.linesPerScene;
  const syncedParts = Math.min(shots, lines);
  /** One join of its shots' clips per scene cut into shots. */
  const joinsOfCutScenes = (kind: string): QuoteItem[] =>
    joins > 0 ? [{ kind, type: "render", calls: joins, units: shots, unit: "clips", estimated: true }] : [];
  const items: QuoteItem[] = [
    // plan_production, create_visual_bible, generate_screenplay.
    {
      kind: "llm",
      type: "llm",
      calls: 3,
      units: 3 * ASSUMED.tokensPerLlmCall,
      unit: "tokens",
      estimated: true,
    },
    {
      kind: "portrait",
      type: "image",
      calls: ASSUMED.characters,
      units: ASSUMED.characters,
      unit: "images",
      estimated: true,
    },
    // A location's image is made once and kept in the library: at most one per scene.
    { kind: "location_image", type: "image", calls: scenes, units: scenes, unit: "images", estimated: true },
    // One clip per shot; its seconds are the film's, the calls move with the screenplay's times.
    { kind: "video", type: "video", calls: shots, units: seconds, unit: "seconds", estimated: true },
    { kind: "end_frame", type: "render", calls: shots, units: shots, unit: "renders", estimated: true },
    ...joinsOfCutScenes("join_shots"),
    {
      kind: "voice",
      type: "audio",
      calls: lines,
      units: lines * ASSUMED.charactersPerLine,
      unit: "characters",
      estimated: true,
    },
    ...(lipsync
      ? [
        // Lip sync where lines fall: at most one part per line, and never more parts than shots.
        {
          kind: "dialogue_track",
          type: "render",
          calls: syncedParts,
          units: syncedParts,
          unit: "renders",
          estimated: true,
        },
        {
          kind: "lipsync",
          type: "lipsync",
          calls: syncedParts,
          units: seconds,
          unit: "seconds",
          estimated: true,
        },
        // A scene cut into shots is synced part by part, and its parts are joined back into its
        // clip (scene-lipsync.ts, lipSyncByShots): a second join of the scene's shots.
        ...joinsOfCutScenes("join_synced"),
      ] satisfies QuoteItem[]
      : [{
        kind: "mix",
        type: "render",
        calls: scenes,
        units: scenes,
        unit: "renders",
        estimated: true,
      }] satisfies QuoteItem[]),
    ...(music
      ? [{
        kind: "music",
        type: "music",
        calls: 1,
        // The film's planned seconds, as the pipeline asks (film-requests.ts): the clips' sum.
        units: filmScoreRequest(brief, seconds, providers.music.provider).durationSeconds,
        unit: "seconds",
        estimated: true,
      }] satisfies QuoteItem[]
      : []),
    { kind: "assemble", type: "render", calls: 1, units: scenes, unit: "clips", estimated: false },
    { kind: "cover", type: "image", calls: 1, units: 1, unit: "images", estimated: false },
  ];
  return items;
}

/** Paid kinds whose units the cap counts: provider jobs, not the synchronous LLM and voice calls. */
const SYNC_KINDS = new Set(["llm", "voice"]);

/** The quote of a brief: items summed per provider, per unit and per kind, and the wall time. */
export function quoteFilm(brief: QuoteBrief, providers: QuoteProviders): FilmQuote {
  const { scenes, shots, joins } = quoteShots(brief.durationMinutes, providers.video);
  const items = quoteItems(brief, providers);
  const perProvider: FilmQuote["perProvider"] = [];
  const total: FilmQuote["total"] = { units: {}, capUnits: 0 };
  const callsByKind: Record<string, number> = {};
  for (const item of items) {
    const { provider, model } = providers[item.type];
    const paid = isPaidProvider(provider);
    const line = perProvider.find((p) =>
      p.provider === provider && p.model === model && p.type === item.type && p.unit === item.unit
    );
    if (line) {
      line.calls += item.calls;
      line.units += item.units;
    } else {perProvider.push({
        provider,
        model,
        type: item.type,
        paid,
        calls: item.calls,
        units: item.units,
        unit: item.unit,
      });}
    callsByKind[item.kind] = (callsByKind[item.kind] ?? 0) + item.calls;
    if (paid) {
      total.units[item.unit] = (total.units[item.unit] ?? 0) + item.units;
      if (!SYNC_KINDS.has(item.kind)) total.capUnits += item.units;
    }
  }
  return {
    sceneCount: scenes,
    perProvider,
    total,
    callsByKind,
    expectedWallSeconds: expectedWallSeconds(shots, joins, providers.lipsync.source !== "fallback"),
    estimates: items.filter((i) => i.estimated).map((i) => `${i.kind}: ${estimateNote(i.kind)}`).concat(
      "expectedWallSeconds: the longest path at TYPICAL_SECONDS per call, every scene in one continuation chain",
    ),
  };
}

function estimateNote(kind: string): string {
  switch (kind) {
    case "llm":
      return `${ASSUMED.tokensPerLlmCall} tokens a call (the answers' length is the model's)`;
    case "portrait":
      return `${ASSUMED.characters} characters (the production plan's cast; a character with a portrait already costs none)`;
    case "location_image":
      return "one per scene at most (scenes continuing a clip and library hits cost none)";
    case "voice":
      return `${ASSUMED.linesPerScene} lines of ${ASSUMED.charactersPerLine} characters per scene (the screenplay's dialogue)`;
    case "music":
      return "the film's clips' seconds, as the video's (the screenplay's times and transitions move them)";
    case "join_synced":
      return "one join of the synced parts per scene cut into shots, as the film's own join of its shots";
    case "lipsync":
    case "dialogue_track":
      return "one part per shot that carries a line (at most one per line), paid for at most the film's seconds";
    default:
      return "one clip per shot, scenes of equal length cut on the model's grid (the screenplay's times move the count by about one shot per scene)";
  }
}

/**
 * Preproduction's three LLM calls and the portraits, then — with the planner's default of every
 * scene continuing the previous one, one chain — each shot's clip and end frame in turn (the
 * first after its location image) and each cut scene's join, then the last scene's lipsync (its
 * parts joined back when it is cut into shots) or mix,
 * the render and the cover. Voices and music run beside the chain.
 */
export function expectedWallSeconds(shots: number, joins: number, lipsync: boolean): number {
  const t = TYPICAL_SECONDS;
  return 3 * t.llm + t.image + t.image + shots * (t.video + t.render) + joins * t.render +
    (lipsync ? t.lipsync + t.render + (joins > 0 ? t.render : 0) : t.render) +
    t.render + t.image;
}

/** How far a film may miss the length asked (README: a 3-minute film lasts 3 minutes). */
const LENGTH_TOLERANCE = 0.1;

/**
 * Whether the planner cuts a film of this length within 10 % of it on this grid, whatever its
 * transitions: the screenplay picks them after the quote, and what they overlap moves the clips'
 * sum (8 s clips for 21 s: 24 s with cuts, +14 %; 23 s with fades).
 */
function makeable(durationMinutes: number, grid: number[]): boolean {
  const target = durationMinutes * 60;
  if (grid[0] > target * (1 + LENGTH_TOLERANCE)) return false;
  return [0, MAX_OVERLAP_SECONDS / 2, MAX_OVERLAP_SECONDS].every((overlap) =>
    Math.abs(quoteCut(durationMinutes, grid, overlap).filmSeconds - target) <=
      target * LENGTH_TOLERANCE + 1e-9
  );
}

/** The nearest lengths (whole hundredths of a minute, as movies.duration_minutes keeps) that are makeable. */
function nearestMakeable(
  durationMinutes: number,
  grid: number[],
): { below: number | null; above: number | null } {
  const at = Math.round(durationMinutes * 100);
  const find = (from: number, step: number) => {
    for (let k = from; k >= 1 && k <= MAX_DURATION_HUNDREDTHS && Math.abs(k - at) <= 1000; k += step) {
      if (makeable(k / 100, grid)) return k / 100;
    }
    return null;
  };
  return { below: find(at - 1, -1), above: find(at + 1, 1) };
}

const MAX_DURATION_HUNDREDTHS = 3000;

/**
 * A length no film can be made within 10 % of on the video model's clips is refused with a 400
 * naming the nearest lengths that can: `film_too_short` below the shortest clip, and
 * `length_not_makeable` where the clips' sums cannot land near it (8 s clips for 12 s: 8 or 16).
 * Before, 0.01 minutes (0.6 s) was made into a 2 s film (+233 %), 0.2 minutes on veo3 into 16 s
 * (+33 %), and a registered 10 s clip made a 6 s film 10 s long, all without a word.
 */
export function assertMakeableLength(durationMinutes: number, video: QuoteVideo) {
  const grid = filmGrid(video);
  if (makeable(durationMinutes, grid)) return;
  const { below, above } = nearestMakeable(durationMinutes, grid);
  const asked = `durationMinutes: ${durationMinutes} minutes (${Math.round(durationMinutes * 600) / 10} s)`;
  const registered = registeredDuration(video.provider, video.settings) !== undefined;
  const clips = `${video.provider} ${video.model} (${
    grid.length > 3 ? `${grid[0]}–${grid[grid.length - 1]} s` : `${grid.join(", ")} s`
  }${registered ? ", as registered" : ""})`;
  if (grid[0] > durationMinutes * 60 * (1 + LENGTH_TOLERANCE)) {
    throw new BadRequestError(
      "film_too_short",
      `${asked} is shorter than the shortest clip of ${clips}; ask for at least ${above}`,
    );
  }
  const nearest = [below, above].filter((m) => m !== null);
  throw new BadRequestError(
    "length_not_makeable",
    `${asked} cannot be made within 10 % from the clips of ${clips}; the nearest ${
      nearest.length === 1 ? "length they make is" : "lengths they make are"
    } ${nearest.join(" or ")} minutes`,
  );
}
