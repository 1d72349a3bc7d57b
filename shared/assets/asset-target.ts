/**
 * What regenerate-asset start accepts: a target (a film, one of its scenes, one dialogue line, or
 * one of the film's library images: a character portrait or a location image) and a kind, plus
 * the user's draft. Which kinds fit which targets is a pure rule; the slot names match the ones
 * the URL-column triggers write (migrations/20261201000500_assets.sql).
 */
import { z } from "zod";
import type { Sql, TransactionSql } from "../db/client.ts";
import { BadRequestError, ConflictError } from "../errors.ts";
import { uuidField, visibleText, wholeNumber } from "../http/read-body.ts";

export const REGENERATE_KINDS = ["video", "audio", "cover", "script", "music", "image"] as const;
export type RegenerateKind = (typeof REGENERATE_KINDS)[number];

export const targetSchema = z.object({
  movieId: uuidField("target.movieId", "a movie's UUID"),
  sceneNumber: wholeNumber("target.sceneNumber", 1).optional(),
  shotNumber: wholeNumber("target.shotNumber", 1).optional(),
  lineIndex: wholeNumber("target.lineIndex", 0).optional(),
  characterId: uuidField("target.characterId", "a character's UUID").optional(),
  locationImageId: uuidField("target.locationImageId", "a location image's UUID").optional(),
}).strict();
export type AssetTarget = z.infer<typeof targetSchema>;

export const draftSchema = z.object({
  prompt: visibleText("draft.prompt", 1000).optional(),
  text: visibleText("draft.text", 2000).optional(),
  voice: z.string({ error: "draft.voice must be a string" }).trim().min(1, "draft.voice must not be empty")
    .max(200, "draft.voice must be at most 200 characters").optional(),
  model: z.string({ error: "draft.model must be a string" }).trim().min(1, "draft.model must not be empty")
    .max(100, "draft.model must be at most 100 characters").optional(),
  settings: z.record(z.string(), z.json(), { error: "draft.settings must be an object" }).optional(),
}).strict();
export type AssetDraft = z.infer<typeof draftSchema>;

/** Which target a kind needs, and which draft fields it uses; null when the pair fits. */
export function targetProblem(kind: RegenerateKind, target: AssetTarget, draft: AssetDraft): string | null {
  const scene = target.sceneNumber !== undefined;
  const line = target.lineIndex !== undefined;
  const library = [target.characterId, target.locationImageId].filter((id) => id !== undefined).length;
  if (line && !scene) return "target.lineIndex needs target.sceneNumber";
  if (target.shotNumber !== undefined && (kind !== "video" || !scene)) {
    return "target.shotNumber belongs to kind video with target.sceneNumber";
  }
  if (library > 0 && kind !== "image") {
    return "target.characterId and target.locationImageId belong to kind image";
  }
  if (kind === "image" && (library !== 1 || scene)) {
    return "kind image regenerates a character portrait or a location image: send target { movieId, characterId } or { movieId, locationImageId }";
  }
  if (kind === "video" && (!scene || line)) {
    return "kind video regenerates one scene's clip or one of its shots: send target { movieId, sceneNumber, shotNumber? }";
  }
  if (kind === "audio" && !line) {
    return "kind audio regenerates one dialogue line: send target { movieId, sceneNumber, lineIndex }";
  }
  if ((kind === "cover" || kind === "script" || kind === "music") && scene) {
    return `kind ${kind} belongs to the film: send target { movieId } only`;
  }
  if ((draft.text !== undefined || draft.voice !== undefined) && kind !== "audio") {
    return "draft.text and draft.voice apply to kind audio only";
  }
  return null;
}

export interface ResolvedSlot {
  slot: string;
  sceneId: string | null;
  lineId: string | null;
}

/** Character portraits and location images are the owner's library, shared by their films. */
export const isLibrarySlot = (slot: string) =>
  slot.startsWith("character:") || slot.startsWith("location_image:");

/** The slot of an existing target, or 400 naming what does not exist (or is not this film's). */
export async function resolveSlot(
  db: Sql | TransactionSql,
  kind: RegenerateKind,
  target: AssetTarget,
): Promise<ResolvedSlot> {
  if (kind === "cover" || kind === "script" || kind === "music") {
    return { slot: `movie:${target.movieId}:${kind}`, sceneId: null, lineId: null };
  }
  if (kind === "image") return { slot: await libraryImageSlot(db, target), sceneId: null, lineId: null };
  const [scene] =
    await db`select id, status from public.movie_scenes where movie_id = ${target.movieId} and scene_number = ${target
      .sceneNumber!}`;
  if (!scene) {
    throw new BadRequestError(
      "unknown_scene",
      `target.sceneNumber: movie ${target.movieId} has no scene ${target.sceneNumber}`,
    );
  }
  if (kind === "video") {
    return { slot: await clipSlot(db, scene.id, target), sceneId: scene.id, lineId: null };
  }
  const [line] =
    await db`select id from public.scene_audio where scene_id = ${scene.id} and line_index = ${target
      .lineIndex!}`;
  if (!line) {
    throw new BadRequestError(
      "unknown_line",
      `target.lineIndex: scene ${target.sceneNumber} has no line ${target.lineIndex}`,
    );
  }
  return { slot: `line:${line.id}:audio`, sceneId: scene.id, lineId: line.id };
}

/**
 * A scene of one shot is regenerated whole (its clip is its shot's: the scene's slot); a scene cut
 * into shots is regenerated a shot at a time (the shot's slot), so the request must name one.
 */
async function clipSlot(db: Sql | TransactionSql, sceneId: string, target: AssetTarget): Promise<string> {
  const shots = await db`
    select id, shot_number from public.scene_shots where scene_id = ${sceneId} order by shot_number`;
  if (shots.length <= 1) {
    if (target.shotNumber !== undefined && target.shotNumber !== 1) {
      throw new BadRequestError(
        "unknown_shot",
        `target.shotNumber: scene ${target.sceneNumber} is one shot; send shotNumber 1 or none`,
      );
    }
    return `scene:${sceneId}:clip`;
  }
  if (target.shotNumber === undefined) {
    throw new BadRequestError(
      "shot_required",
      `target.shotNumber: scene ${target.sceneNumber} is cut into ${shots.length} shots; regenerate one of them (1-${shots.length})`,
    );
  }
  const shot = shots.find((s) => s.shot_number === target.shotNumber);
  if (!shot) {
    throw new BadRequestError(
      "unknown_shot",
      `target.shotNumber: scene ${target.sceneNumber} has shots 1-${shots.length}, not ${target.shotNumber}`,
    );
  }
  return `shot:${shot.id}:clip`;
}

/**
 * A later shot is made from its previous shot's last frame, which that shot has none of while the
 * frame of a clip just accepted for it is being extracted (its asset.apply): 409 then, before
 * anything is counted, instead of a run admitted, charged and failing for want of the frame.
 */
export async function assertPreviousShotFrame(db: Sql | TransactionSql, slot: string, target: AssetTarget) {
  if (!isShotSlot(slot)) return;
  const [previous] = await db`
    select p.end_frame_url from public.scene_shots h
      join public.scene_shots p on p.scene_id = h.scene_id and p.shot_number = h.shot_number - 1
     where h.id = ${slotOwnerId(slot)}`;
  if (previous && !previous.end_frame_url) {
    throw new ConflictError(
      "shot_frame_pending",
      `target.shotNumber: shot ${
        target.shotNumber! - 1
      } of scene ${target.sceneNumber} has no last frame yet (its new clip's is being extracted); start shot ${target.shotNumber} once it has`,
    );
  }
}

/** The id of the row a slot belongs to: `scene:<id>:clip` → `<id>`. */
export const slotOwnerId = (slot: string) => slot.split(":")[1];

/** A shot's slot (`shot:<id>:clip`): regenerate-asset's unit for a scene cut into shots. */
export const isShotSlot = (slot: string) => slot.startsWith("shot:");

/**
 * A library image of this film: a character it created or that speaks in it; a location image it
 * created or that one of its scenes used. Another user's id answers like an unknown one.
 */
async function libraryImageSlot(db: Sql | TransactionSql, target: AssetTarget): Promise<string> {
  if (target.characterId !== undefined) {
    const [character] = await db`
      select c.id from public.characters c join public.movies m on m.id = ${target.movieId} and m.user_id = c.user_id
       where c.id = ${target.characterId}
         and (c.created_by_movie_id = m.id or exists (select 1 from public.scene_audio l where l.movie_id = m.id and l.character_id = c.id))`;
    if (!character) {
      throw new BadRequestError(
        "unknown_character",
        `target.characterId: movie ${target.movieId} has no character ${target.characterId}`,
      );
    }
    return `character:${character.id}:image`;
  }
  const [image] = await db`
    select i.id from public.location_images i join public.movies m on m.id = ${target.movieId} and m.user_id = i.user_id
     where i.id = ${target.locationImageId!}
       and (i.created_by_movie_id = m.id or exists (select 1 from public.movie_scenes s where s.movie_id = m.id and s.location_image_id = i.id))`;
  if (!image) {
    throw new BadRequestError(
      "unknown_location_image",
      `target.locationImageId: movie ${target.movieId} has no location image ${target.locationImageId}`,
    );
  }
  return `location_image:${image.id}:image`;
}

/** Serialises every write to a slot's versions (the SQL side takes the same lock: asset_admin.record_url). */
export const lockSlot = (tx: TransactionSql, slot: string) =>
  tx`select pg_advisory_xact_lock(hashtextextended(${"asset-slot:" + slot}, 0))`;
