/**
 * Continuity after a new clip. A scene that continues from another's last frame
 * (movie_scenes.continues_from) was made from that frame: when the scene it continues from gets a
 * new clip, it and every scene continuing from it in turn (transitively along the chain) are
 * marked stale (movie_scenes.stale) until each gets a new accepted clip. The chain rule is a pure
 * function of (unit, continues-from) links, so a shot level can reuse it with its own links.
 */
import type { Sql, TransactionSql } from "../db/client.ts";

/** One unit of a chain (a scene today) and the unit whose last frame it starts from, if any. */
export interface ContinuityLink {
  number: number;
  continuesFrom: number | null;
}

/** Every unit that continues from `from`'s last frame, directly or along the chain, in order. */
export function continuationsOf(links: readonly ContinuityLink[], from: number): number[] {
  const found = new Set<number>();
  const queue = [from];
  while (queue.length) {
    const at = queue.shift()!;
    for (const link of links) {
      if (link.continuesFrom === at && !found.has(link.number) && link.number !== from) {
        found.add(link.number);
        queue.push(link.number);
      }
    }
  }
  return [...found].sort((a, b) => a - b);
}

/** The units that continue from `from` directly: what a cascade regenerates first. */
export const directContinuationsOf = (links: readonly ContinuityLink[], from: number): number[] =>
  links.filter((link) => link.continuesFrom === from).map((link) => link.number).sort((a, b) => a - b);

export interface StaleMarks {
  /** Scenes now stale, in order. */
  stale: number[];
  /** Those continuing directly from the scene: the ones a cascade regenerates. */
  direct: number[];
}

/**
 * In the accept's transaction: the scene that got a new clip is no longer stale, and every scene
 * continuing from it (transitively) is.
 */
export async function markContinuationsStale(
  tx: TransactionSql,
  movieId: string,
  sceneNumber: number,
): Promise<StaleMarks> {
  const rows = await tx`
    select scene_number, continues_from from public.movie_scenes where movie_id = ${movieId}`;
  const links = rows.map((r) => ({
    number: r.scene_number as number,
    continuesFrom: r.continues_from as number | null,
  }));
  const stale = continuationsOf(links, sceneNumber);
  // The scene itself stays stale while one of its shots is (a later shot not yet made again).
  await tx`
    update public.movie_scenes s set stale = exists (select 1 from public.scene_shots h where h.scene_id = s.id and h.stale)
     where movie_id = ${movieId} and scene_number = ${sceneNumber}`;
  if (stale.length) {
    await tx`update public.movie_scenes set stale = true where movie_id = ${movieId} and scene_number in ${
      tx(stale)
    }`;
    await tx`
      update public.scene_shots set stale = true
       where scene_id in (select id from public.movie_scenes where movie_id = ${movieId} and scene_number in ${
      tx(stale)
    })`;
  }
  return { stale, direct: directContinuationsOf(links, sceneNumber) };
}

/**
 * In a shot's accept: the later shots of its scene continue from its last frame, one after the
 * other (a chain of shots), so every one of them is stale now. Returns their numbers.
 */
export async function markLaterShotsStale(tx: TransactionSql, shotId: string): Promise<number[]> {
  const rows = await tx`
    update public.scene_shots l set stale = true
      from public.scene_shots h
     where h.id = ${shotId} and l.scene_id = h.scene_id and l.shot_number > h.shot_number
    returning l.shot_number`;
  return rows.map((r) => r.shot_number as number).sort((a, b) => a - b);
}

/** The film's stale shots of scenes cut into shots, in order. */
export async function staleShots(db: Sql | TransactionSql, movieId: string) {
  const rows = await db`
    select s.scene_number, h.shot_number from public.scene_shots h join public.movie_scenes s on s.id = h.scene_id
     where h.movie_id = ${movieId} and h.stale order by s.scene_number, h.shot_number`;
  return rows.map((r) => ({ sceneNumber: r.scene_number as number, shotNumber: r.shot_number as number }));
}

/** The film's stale scenes, in order. */
export async function staleScenes(db: Sql | TransactionSql, movieId: string): Promise<number[]> {
  const rows = await db`
    select scene_number from public.movie_scenes where movie_id = ${movieId} and stale order by scene_number`;
  return rows.map((r) => r.scene_number as number);
}
