/**
 * collectReport, which reads one film back (a DemoReport, report-types.ts) from the real tables
 * and downloads its media next to the report. Every media path in a report is relative to the
 * report's directory (`media/...`), so the directory can be opened anywhere.
 */
import type { Sql } from "../../shared/db/client.ts";
import { filmMachine, readFilmRows, type SceneRow } from "./report-queries.ts";
import type { ObjectStorage } from "../../shared/storage/storage.ts";
import { createMediaFetcher, mapConcurrently } from "./report-media.ts";
import {
  filmWallSeconds,
  maxParallelTasks,
  quoteBesideSpend,
  summarizeSteps,
  taskLabel,
} from "./report-summaries.ts";
import type { MovieQuote } from "../../shared/client/movies.ts";
import type {
  DemoReport,
  ReferenceImageSource,
  SceneReport,
  ShotReferenceSource,
  TaskReport,
} from "./report-types.ts";

export interface CollectOptions {
  /** The report's directory; media go to `<outDir>/media/`. */
  outDir: string;
  /** The project's Storage (service role): the film's media live in the private bucket. */
  storage?: ObjectStorage;
  /** The chaos run's kills (empty otherwise). */
  kills: { at: Date | string; function: string }[];
  /** produce-movie quote of the brief, asked before start: shown beside the spend. */
  quote?: MovieQuote;
}

/** Reads one film (movies, scenes, shots, lines, progress, metrics, tasks) and downloads its media. */
export async function collectReport(sql: Sql, movieId: string, options: CollectOptions): Promise<DemoReport> {
  const rows = await readFilmRows(sql, movieId);
  const { movie } = rows;
  const media = createMediaFetcher({ outDir: options.outDir, storage: options.storage });

  const filmVideo = await media.download(movie.video_url, "film");
  const posterFile = await media.download(movie.poster_url ?? movie.thumbnail_url, "poster");
  const sceneName = (scene: SceneRow) => `scene-${String(scene.scene_number).padStart(3, "0")}`;
  // A file keeps the name of the scene that downloads it first: end frames go before reference
  // images, so a continuation's reference is its predecessor's `...-end-frame` file.
  const clips = await mapConcurrently(rows.scenes, 4, async (scene) => {
    const video = await media.download(scene.video_url ?? scene.clip_url, `${sceneName(scene)}-video`);
    return {
      video,
      thumbnail: video ? await media.thumbnail(video, `${sceneName(scene)}-thumb.jpg`) : null,
      endFrame: await media.download(scene.end_frame_url, `${sceneName(scene)}-end-frame`),
    };
  });
  const scenes = await mapConcurrently(
    rows.scenes.map((scene, i) => ({ scene, clip: clips[i] })),
    4,
    async ({ scene, clip }): Promise<SceneReport> => {
      const name = sceneName(scene);
      const lines = await Promise.all(
        rows.lines.filter((l) => l.scene_id === scene.id).map(async (line) => ({
          character: line.character_name,
          text: line.text,
          ...optional(
            "audioFile",
            await media.download(line.audio_url, `${name}-line-${String(line.line_index).padStart(2, "0")}`),
          ),
          ...optional("errorMessage", line.status === "failed" ? line.error_message ?? "failed" : null),
        })),
      );
      return {
        sceneNumber: scene.scene_number,
        status: scene.status,
        ...optional("errorMessage", sceneProblems(scene)),
        ...optional("videoFile", clip.video),
        ...optional("thumbnailFile", clip.thumbnail),
        ...optional("endFrameFile", clip.endFrame),
        ...optional(
          "referenceImageFile",
          await media.download(scene.reference_image_url, `${name}-reference`),
        ),
        referenceImageSource: scene.reference_image_source as ReferenceImageSource | null,
        ...optional(
          "durationSeconds",
          scene.duration_seconds === null ? null : Number(scene.duration_seconds),
        ),
        shots: rows.shots.filter((shot) => shot.scene_id === scene.id).map((shot) => ({
          shotNumber: shot.shot_number,
          durationSeconds: Number(shot.duration_seconds),
          status: shot.status,
          referenceImageSource: shot.reference_image_source as ShotReferenceSource | null,
          ...optional("errorMessage", shot.error_message),
        })),
        lines,
      };
    },
  );

  const generatedAt = new Date();
  const tasks: TaskReport[] = rows.tasks.map((t) => ({
    id: t.id,
    kind: t.kind,
    label: taskLabel(t, rows.jobLinks.get(t.id)),
    createdAt: t.created_at.toISOString(),
    startedAt: t.started_at?.toISOString() ?? null,
    endedAt: t.finished_at?.toISOString() ?? null,
    status: t.status,
    failedAttempts: t.attempts,
    ...optional("parentId", t.parent_id),
  }));
  const kills = options.kills.map((k) => ({ at: new Date(k.at).toISOString(), function: k.function }))
    .sort((a, b) => a.at.localeCompare(b.at));
  return {
    film: {
      movieId: movie.id,
      title: movie.title,
      prompt: movie.prompt,
      status: movie.status,
      askedSeconds: Number(movie.duration_minutes) * 60,
      durationSeconds: filmVideo ? await media.durationOf(filmVideo) : null,
      videoFile: filmVideo,
      posterFile,
      createdAt: movie.created_at.toISOString(),
      completedAt: movie.completed_at?.toISOString() ?? null,
      ...optional("errorMessage", movie.error_message),
    },
    ...(options.quote ? { quote: quoteBesideSpend(options.quote, rows.metrics) } : {}),
    scenes,
    steps: summarizeSteps(rows.progressSteps, rows.metrics),
    tasks,
    kills,
    summary: {
      wallSeconds: filmWallSeconds(movie.created_at, movie.completed_at, tasks, generatedAt),
      tasks: tasks.length,
      kills: kills.length,
      retriedTasks: tasks.filter((t) => t.failedAttempts > 0).length,
      maxParallelTasks: maxParallelTasks(tasks, generatedAt),
      scenes: scenes.length,
      failedScenes: scenes.filter((s) => s.status === "failed").length,
    },
    warnings: media.warnings,
    generatedAt: generatedAt.toISOString(),
    machine: await filmMachine(sql),
  };
}

/** `{ key: value }`, or nothing when the value is null: absent fields stay absent in the JSON. */
function optional<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Why a scene is not all there: its clip's failure, else its voices' or mix's. */
function sceneProblems(scene: SceneRow): string | null {
  const problems = [
    scene.error_message,
    scene.audio_status === "failed" ? `voices: ${scene.audio_error ?? "failed"}` : null,
    scene.mix_status === "failed" ? `mix: ${scene.mix_error ?? "failed"}` : null,
  ].filter(Boolean);
  return problems.length ? problems.join("; ") : null;
}
