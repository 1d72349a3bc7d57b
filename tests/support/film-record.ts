/**
 * Reading a finished film's record back into the shapes the assertions and the benchmark need:
 * the render tasks behind its render steps (the worker render provider's job id is the task id),
 * the DAG input (which references were generated, which clips exist, each scene's shots, measured
 * render times), and
 * the film's own wall time (movies.created_at → completed_at, both written by the database).
 */
import type { FilmLatencies } from "../fakes/start-fakes.ts";
import type { FilmDagInput } from "./film-dag.ts";
import type { FilmRecord } from "./film.ts";
import type { Sql } from "./stack.ts";

type Metric = FilmRecord["metrics"][number];

export async function renderTaskOf(sql: Sql, film: FilmRecord, stepName: string, sceneNumber?: number) {
  const metric = film.metrics.find((m) =>
    m.step_name === stepName && (sceneNumber === undefined || m.scene_number === sceneNumber)
  );
  if (!metric?.external_id) throw new Error(`film ${film.movie.id} has no render step ${stepName}`);
  const [task] = await sql`select * from public.background_tasks where id = ${metric.external_id}`;
  return task;
}

/** Run time (started_at → finished_at) of each render task, by its metric's external id. */
async function renderRunMs(sql: Sql, metrics: Metric[]): Promise<Map<string, number>> {
  const ids = metrics.filter((m) => m.provider === "worker" && m.external_id).map((m) =>
    m.external_id as string
  );
  const rows = ids.length === 0 ? [] : await sql`
    select id::text, extract(epoch from (finished_at - started_at)) * 1000 as ms
      from public.background_tasks where id = any(${ids}::uuid[]) and finished_at is not null`;
  return new Map(rows.map((r) => [r.id as string, Number(r.ms)]));
}

export async function filmDagInput(
  sql: Sql,
  film: FilmRecord,
  latencies: FilmLatencies,
): Promise<FilmDagInput> {
  const run = await renderRunMs(sql, film.metrics);
  const renderOf = (m: Metric | undefined) => (m?.external_id ? run.get(m.external_id) ?? 0 : 0);
  const linesOf = (n: number) => film.audio.filter((a) => a.scene_number === n).length;
  const named = (n: number, name: string) =>
    film.metrics.find((m) => m.scene_number === n && m.step_name === name);
  // A scene's shots as they ran: a one-shot scene's steps are `scene-N:…`, shot i of more is
  // `scene-N:shot-i:…` (shared/film/scene-video.ts). A failed scene counts the shots it reached.
  const shotsOf = (n: number, clipMade: boolean) => {
    const rows = film.shots.filter((h) => h.scene_number === n && (clipMade || h.status !== "pending"));
    return Math.max(1, rows.length);
  };
  const shotFrameMs = (n: number, shots: number) =>
    Array.from(
      { length: shots },
      (_, i) =>
        renderOf(named(n, shots === 1 ? `scene-${n}:end-frame` : `scene-${n}:shot-${i + 1}:end-frame`)),
    );
  // A scene's last step: lip sync (its dialogue track rendered, then the provider's job) when
  // configured and it worked, else the plain mix render.
  const sceneFinishMs = (n: number) =>
    named(n, "lipsync:sync")?.phase === "succeeded"
      ? renderOf(named(n, "lipsync:dialogue-track")) + latencies.lipsync
      : renderOf(named(n, "mix"));
  return {
    latencies,
    scenes: film.scenes.map((s) => ({
      sceneNumber: s.scene_number,
      continuesFrom: s.continues_from,
      generatedReference: s.reference_image_source === "generated",
      clipMade: s.clip_url !== null,
      lines: linesOf(s.scene_number),
      shots: shotsOf(s.scene_number, s.clip_url !== null),
    })),
    portraits: film.metrics.filter((m) => m.step === "assign_characters").length,
    music: film.metrics.some((m) => m.step === "generate_music"),
    cover: film.metrics.some((m) => m.step === "generate_cover"),
    renderMs: {
      endFrame: new Map(
        film.scenes.map((s) => [
          s.scene_number,
          shotFrameMs(s.scene_number, shotsOf(s.scene_number, s.clip_url !== null)),
        ]),
      ),
      join: new Map(
        film.scenes.map((
          s,
        ) => [s.scene_number, renderOf(named(s.scene_number, `scene-${s.scene_number}:join-shots`))]),
      ),
      mix: new Map(film.scenes.map((s) => [s.scene_number, sceneFinishMs(s.scene_number)])),
      assemble: renderOf(film.metrics.find((m) => m.step_name === "assemble_movie:render")),
    },
  };
}

/** The film's wall time as the database saw it: start action → finalize. */
export function filmWallMs(film: FilmRecord): number {
  return new Date(film.movie.completed_at).getTime() - new Date(film.movie.created_at).getTime();
}

/** The URL the film's timeline takes for a scene: its lip-synced video while that is current, else the raw clip. */
export function timelineUrlOf(
  scene: { clip_url: string | null; video_url: string | null; lipsync_url?: string | null },
): string | null {
  return scene.lipsync_url && scene.lipsync_url === scene.video_url ? scene.video_url : scene.clip_url;
}
