/**
 * What regenerate-asset start accepts: a target (a film, one of its scenes, or one dialogue line)
 * and a kind, plus the user's draft. Which kinds fit which targets is a pure rule; the slot names
 * match the ones the URL-column triggers write (migrations/20261121003000_assets.sql).
 */
import { z } from "zod";
import type { Sql, TransactionSql } from "../db/client.ts";
import { BadRequestError } from "../errors.ts";

export const REGENERATE_KINDS = ["video", "audio", "cover", "script"] as const;
export type RegenerateKind = (typeof REGENERATE_KINDS)[number];

export const targetSchema = z.object({
  movieId: z.string({ error: "target.movieId is required (a movie's UUID)" }).uuid({ error: "target.movieId must be a movie's UUID" }),
  sceneNumber: z.number({ error: "target.sceneNumber must be a whole number" }).int("target.sceneNumber must be a whole number").min(1, "target.sceneNumber must be 1 or more").optional(),
  lineIndex: z.number({ error: "target.lineIndex must be a whole number" }).int("target.lineIndex must be a whole number").min(0, "target.lineIndex must be 0 or more").optional(),
}).strict();
export type AssetTarget = z.infer<typeof targetSchema>;

export const draftSchema = z.object({
  prompt: z.string({ error: "draft.prompt must be a string" }).trim().min(1, "draft.prompt must not be empty").max(1000, "draft.prompt must be at most 1000 characters").optional(),
  text: z.string({ error: "draft.text must be a string" }).trim().min(1, "draft.text must not be empty").max(2000, "draft.text must be at most 2000 characters").optional(),
  voice: z.string({ error: "draft.voice must be a string" }).trim().min(1, "draft.voice must not be empty").max(200, "draft.voice must be at most 200 characters").optional(),
  model: z.string({ error: "draft.model must be a string" }).trim().min(1).max(100).optional(),
  settings: z.record(z.string(), z.unknown(), { error: "draft.settings must be an object" }).optional(),
}).strict();
export type AssetDraft = z.infer<typeof draftSchema>;

/** Which target a kind needs, and which draft fields it uses; null when the pair fits. */
export function targetProblem(kind: RegenerateKind, target: AssetTarget, draft: AssetDraft): string | null {
  const scene = target.sceneNumber !== undefined;
  const line = target.lineIndex !== undefined;
  if (line && !scene) return "target.lineIndex needs target.sceneNumber";
  if (kind === "video" && (!scene || line)) return "kind video regenerates one scene's clip: send target { movieId, sceneNumber }";
  if (kind === "audio" && !line) return "kind audio regenerates one dialogue line: send target { movieId, sceneNumber, lineIndex }";
  if ((kind === "cover" || kind === "script") && scene) return `kind ${kind} belongs to the film: send target { movieId } only`;
  if ((draft.text !== undefined || draft.voice !== undefined) && kind !== "audio") return "draft.text and draft.voice apply to kind audio only";
  return null;
}

export interface ResolvedSlot {
  slot: string;
  sceneId: string | null;
  lineId: string | null;
}

/** The slot of an existing target, or 400 naming what does not exist. */
export async function resolveSlot(db: Sql | TransactionSql, kind: RegenerateKind, target: AssetTarget): Promise<ResolvedSlot> {
  if (kind === "cover" || kind === "script") return { slot: `movie:${target.movieId}:${kind}`, sceneId: null, lineId: null };
  const [scene] = await db`select id, status from public.movie_scenes where movie_id = ${target.movieId} and scene_number = ${target.sceneNumber!}`;
  if (!scene) throw new BadRequestError("unknown_scene", `target.sceneNumber: movie ${target.movieId} has no scene ${target.sceneNumber}`);
  if (kind === "video") return { slot: `scene:${scene.id}:clip`, sceneId: scene.id, lineId: null };
  const [line] = await db`select id from public.scene_audio where scene_id = ${scene.id} and line_index = ${target.lineIndex!}`;
  if (!line) throw new BadRequestError("unknown_line", `target.lineIndex: scene ${target.sceneNumber} has no line ${target.lineIndex}`);
  return { slot: `line:${line.id}:audio`, sceneId: scene.id, lineId: line.id };
}
