/**
 * Film pipeline: wall time of whole films vs the DAG's critical path vs the one-by-one order.
 * `npm run bench -- film`: the provider fakes run in this process at fixed latencies (real media),
 * the stack's functions are pointed at them (function env, restored at the end), and films of
 * BENCH_FILM_MINUTES (default 3,12) minutes in 12 scenes — two continuation chains (3 and 4
 * scenes), each scene proposing its even share, so the planner cuts it into shots of at most 10 s
 * (Runway gen4.5's grid) — run one after another through the real gateway, engine and render
 * worker (real FFmpeg).
 *
 * For each film: wall = movies.created_at → completed_at; critical path and sequential time from
 * the DAG the film actually ran (tests/support/film-dag.ts: every shot a clip then its end frame,
 * in order, then the scene's join), where a provider job weighs its fixed latency and a render job
 * its measured run time; sequential = one-by-one order, every piece of that work one after
 * another. Orchestration overhead per step = the step's wall time (movie_step_metrics started_at
 * → finished_at) minus its work (the provider's fixed latency, or the render task's run time);
 * hand-off gap = a step's start minus the finish of the last step it waited for (a shot's clip
 * after the previous shot's end frame, a continuation's first clip after its predecessor's clip,
 * a join after its last end frame, a scene's finishing step after its clip and voices, assembly
 * after the last scene, the cover after assembly). The film's rendered length (ffprobe of
 * movies.video_url) is recorded against the length asked. Prints a table, writes
 * bench/results/film.json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import type { FilmLatencies } from "../tests/fakes/start-fakes.ts";
import { criticalPath, filmDag, sequentialTime } from "../tests/support/film-dag.ts";
import { filmDagInput, filmWallMs } from "../tests/support/film-record.ts";
import { filmOfMinutes } from "../tests/support/film-script.ts";
import { download, durationOf } from "../tests/support/render-media.ts";
import {
  briefFor,
  filmUser,
  readFilm,
  registerFakeDefaults,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../tests/support/film.ts";
import { sampleConnections } from "./support/connection-sampler.ts";
import { formatSliceReport, watchSlices } from "./support/slice-report.ts";
import { machineInfo } from "./support/machine-info.ts";
import { markdownTable } from "./support/markdown-table.ts";
import { benchEnv } from "./support/stack-env.ts";
import { percentile, round } from "./support/stats.ts";

const REPO = resolve(import.meta.dirname!, "..");
const MINUTES_ENV = Deno.env.get("BENCH_FILM_MINUTES") ?? "3,12";
const SIZES = MINUTES_ENV.split(",").map(Number);
if (SIZES.some((m) => !(m > 0 && m <= 30))) {
  throw new Error(`BENCH_FILM_MINUTES: minutes from 0 to 30, not ${MINUTES_ENV}`);
}
/** Scenes per film: two continuation chains per twelve, the rest side by side. */
const SCENES = 12;
const LATENCIES: FilmLatencies = {
  llm: 300,
  image: 1000,
  video: 3000,
  voice: 800,
  lipsync: 1500,
  music: 2000,
};
const PROVIDER_OF: Record<string, keyof FilmLatencies> = {
  openai: "llm",
  fal: "image",
  runway: "video",
  elevenlabs: "voice",
  sync: "lipsync",
  beatoven: "music",
};

const env = benchEnv();
const sql = postgres(env.DB_URL, { max: 4, onnotice: () => {} });
const rig = await startFilmRig({ latencies: LATENCIES, pollMs: 100 });
// Clips as Runway delivers them, at the ratio's pixels (1280x720): a scene's shots then join by
// stream copy, as they do in production; 320x180 clips would re-encode every join to 720p.
rig.fakes.runway.configure({ clipSize: "ratio" });
const removeDefaults = await registerFakeDefaults(100);

type Row = {
  step: string;
  step_name: string;
  scene_number: number | null;
  provider: string;
  external_id: string | null;
  started_at: Date;
  finished_at: Date;
};

/**
 * The most render jobs of this film running at once (from their tasks' start and finish): how
 * many render slots the run had in practice, which bounds how close wall can get to the DAG's
 * critical path (the DAG assumes a render job starts as soon as it is ready).
 */
async function peakRenderJobs(film: Awaited<ReturnType<typeof readFilm>>): Promise<number> {
  const ids = ([...film.metrics] as Row[]).filter((m) => m.provider === "worker" && m.external_id).map((m) =>
    m.external_id!
  );
  const rows = await sql`
    select started_at, finished_at from public.background_tasks
     where id = any(${ids}::uuid[]) and started_at is not null and finished_at is not null`;
  const events = rows.flatMap((r) => [[r.started_at.getTime(), 1], [r.finished_at.getTime(), -1]])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peak = 0;
  for (const [, delta] of events) {
    running += delta;
    peak = Math.max(peak, running);
  }
  return peak;
}

async function overheads(film: Awaited<ReturnType<typeof readFilm>>) {
  const metrics = [...film.metrics] as Row[];
  const renderIds = metrics.filter((m) => m.provider === "worker" && m.external_id).map((m) =>
    m.external_id!
  );
  const renders = new Map((await sql`
    select id::text, extract(epoch from (finished_at - started_at)) * 1000 as ms from public.background_tasks
     where id = any(${renderIds}::uuid[])`).map((r) => [r.id as string, Number(r.ms)]));
  const ms = (m: Row) => m.finished_at.getTime() - m.started_at.getTime();
  const perStep: Record<string, number[]> = {};
  for (const m of metrics) {
    const work = m.provider === "worker"
      ? renders.get(m.external_id ?? "")
      : LATENCIES[PROVIDER_OF[m.provider]];
    if (work === undefined || !m.finished_at) continue;
    const kind = m.provider === "worker"
      ? `render ${m.step_name.replace(/^scene-\d+:(shot-\d+:)?/, "")}`
      : `${m.provider} ${m.step.replace("generate_", "")}`;
    (perStep[kind] ??= []).push(ms(m) - work);
  }
  const named = (n: number | null, name: string) =>
    metrics.find((m) => m.scene_number === n && m.step_name === name);
  // A scene's shot steps: `scene-N:video` for a one-shot scene, `scene-N:shot-I:video` for more.
  const shotsOf = (n: number) => film.shots.filter((h) => h.scene_number === n).length || 1;
  const shotStep = (n: number, shots: number, i: number, what: string) =>
    named(n, shots === 1 ? `scene-${n}:${what}` : `scene-${n}:shot-${i}:${what}`);
  const clipDone = (n: number) => {
    const shots = shotsOf(n);
    return shots === 1 ? shotStep(n, 1, 1, "end-frame") : named(n, `scene-${n}:join-shots`);
  };
  const gaps: number[] = [];
  const gap = (after: Row | undefined, ...before: (Row | undefined)[]) => {
    if (!after || before.some((b) => !b?.finished_at)) return;
    gaps.push(after.started_at.getTime() - Math.max(...before.map((b) => b!.finished_at.getTime())));
  };
  for (const s of film.scenes) {
    const n = s.scene_number as number;
    const shots = shotsOf(n);
    if (s.continues_from !== null) gap(shotStep(n, shots, 1, "video"), clipDone(s.continues_from));
    for (let i = 2; i <= shots; i++) {
      gap(shotStep(n, shots, i, "video"), shotStep(n, shots, i - 1, "end-frame"));
    }
    if (shots > 1) gap(named(n, `scene-${n}:join-shots`), shotStep(n, shots, shots, "end-frame"));
    const finish = metrics.find((m) =>
      m.scene_number === n && ["lipsync:dialogue-track", "mix"].includes(m.step_name)
    );
    const voices = metrics.filter((m) => m.scene_number === n && m.provider === "elevenlabs");
    if (voices.length) gap(finish, clipDone(n), ...voices);
  }
  const assemble = metrics.find((m) => m.step_name === "assemble_movie:render");
  const cover = metrics.find((m) => m.step_name === "generate_cover:poster");
  const sceneEnds = metrics.filter((m) => m.scene_number !== null).map((m) => m.finished_at.getTime());
  if (assemble) gaps.push(assemble.started_at.getTime() - Math.max(...sceneEnds));
  if (assemble && cover) gaps.push(cover.started_at.getTime() - assemble.finished_at.getTime());
  const all = Object.values(perStep).flat();
  return {
    stepOverheadMs: {
      p50: round(percentile(all, 50), 0),
      p95: round(percentile(all, 95), 0),
      steps: all.length,
    },
    byKind: Object.fromEntries(
      Object.entries(perStep).map((
        [k, v],
      ) => [k, { n: v.length, p50: round(percentile(v, 50), 0), p95: round(percentile(v, 95), 0) }]),
    ),
    handoffGapMs: {
      p50: round(percentile(gaps, 50), 0),
      p95: round(percentile(gaps, 95), 0),
      gaps: gaps.length,
    },
  };
}

/** The film's rendered length: its video downloaded and measured by ffprobe. */
async function renderedSeconds(videoUrl: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "bench-film-"));
  try {
    return durationOf(await download(videoUrl, join(dir, "film.mp4")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
const wholeRun = await watchSlices(sql, env);
let slices;
try {
  for (const minutes of SIZES) {
    const shape = filmOfMinutes(minutes, SCENES);
    const title = `Bench ${minutes} min ${Date.now()}`;
    // The orchestration is measured, not a provider's cap: the fakes are the project's defaults at
    // concurrency 100 (a user's own keys are capped at 10); the user registers only the renderer.
    const user = await filmUser(rig, shape, title, [], 10);
    rig.fakes.resetCounters();
    console.error(`film of ${minutes} min in ${SCENES} scenes...`);
    const connections = sampleConnections(sql);
    const filmSlices = await watchSlices(sql, env);
    const { movieId } = await startFilm(user, { ...briefFor(shape, title), durationMinutes: minutes });
    await waitForFilm(rig.sql, movieId, 30 * 60_000).finally(() => connections.stop());
    const peakConnections = await connections.stop();
    const sliceReport = await filmSlices.stop();
    console.error(formatSliceReport(sliceReport, `film of ${minutes} min`));
    await rig.checkEnvIntact();
    const film = await readFilm(rig.sql, movieId);
    if (film.movie.status !== "completed") {
      throw new Error(`film ${movieId} ended ${film.movie.status}: ${film.movie.error_message}`);
    }
    const nodes = filmDag(await filmDagInput(rig.sql, film, LATENCIES));
    const path = criticalPath(nodes);
    const sequential = sequentialTime(nodes);
    const wall = filmWallMs(film);
    const made = film.scenes.length;
    const over = await overheads(film);
    const paid = rig.fakes.submissions();
    const rendered = await renderedSeconds(film.movie.video_url);
    const shotsPerScene = film.scenes.map((s) =>
      film.shots.filter((h) => h.scene_number === s.scene_number).length
    );
    console.error(
      `  ${made} scenes, ${film.shots.length} shots, ${round(rendered, 1)} s rendered of ${
        minutes * 60
      } s asked: wall ${round(wall / 1000, 1)} s, critical path ${round(path.ms / 1000, 1)} s, sequential ${
        round(sequential / 1000, 1)
      } s`,
    );
    results.push({
      minutesAsked: minutes,
      secondsAsked: minutes * 60,
      renderedSeconds: round(rendered, 2),
      lengthError: round((rendered - minutes * 60) / (minutes * 60), 3),
      scenesAsked: SCENES,
      scenesMade: made,
      shots: film.shots.length,
      shotsPerScene,
      shotSeconds: film.shots.map((h) => Number(h.duration_seconds)),
      chains: shape.chains,
      wallSeconds: round(wall / 1000, 2),
      criticalPathSeconds: round(path.ms / 1000, 2),
      sequentialSeconds: round(sequential / 1000, 2),
      wallOverCriticalPath: round(wall / path.ms, 2),
      sequentialOverWall: round(sequential / wall, 1),
      criticalPath: path.path,
      ...over,
      paidSubmissions: paid,
      renderSeconds: {
        assemble: round((nodes.find((n) => n.id === "assemble")?.ms ?? 0) / 1000, 2),
        joins: round(
          nodes.filter((n) => n.id.startsWith("join-")).reduce((sum, n) => sum + n.ms, 0) / 1000,
          2,
        ),
        endFrames: round(
          nodes.filter((n) => n.id.startsWith("end-frame-")).reduce((sum, n) => sum + n.ms, 0) / 1000,
          2,
        ),
      },
      peakConnections,
      peakRenderJobs: await peakRenderJobs(film),
      slices: sliceReport,
    });
  }
  slices = await wholeRun.stop();
} finally {
  await removeDefaults();
  await rig.close();
}

const table = markdownTable(
  [
    "film asked / rendered s",
    "scenes / shots",
    "wall s",
    "critical path s",
    "wall / CP",
    "seed sequential s",
    "sequential / wall",
    "step overhead p50 / p95 ms",
    "hand-off gap p50 / p95 ms",
    "peak connections (functions)",
  ],
  results.map((
    r,
  ) => [
    `${r.secondsAsked} / ${r.renderedSeconds}`,
    `${r.scenesMade} / ${r.shots}`,
    r.wallSeconds,
    r.criticalPathSeconds,
    r.wallOverCriticalPath,
    r.sequentialSeconds,
    r.sequentialOverWall,
    `${r.stepOverheadMs.p50} / ${r.stepOverheadMs.p95}`,
    `${r.handoffGapMs.p50} / ${r.handoffGapMs.p95}`,
    `${r.peakConnections.total} (${r.peakConnections.functions})`,
  ]),
);
console.log(table);
console.log(formatSliceReport(slices!, "all films"));
const commit = new TextDecoder().decode(
  (await new Deno.Command("git", { args: ["rev-parse", "HEAD"], cwd: REPO, stdout: "piped" }).output())
    .stdout,
).trim();
await Deno.mkdir(join(REPO, "bench", "results"), { recursive: true });
await Deno.writeTextFile(
  join(REPO, "bench", "results", "film.json"),
  JSON.stringify(
    {
      benchmark: "film",
      commit,
      machine: await machineInfo(sql),
      latenciesMs: LATENCIES,
      setup: {
        providers:
          "contract fakes in the bench process at fixed latencies, registered as the project's default providers; render worker (real FFmpeg) of the local stack",
        pollMs: 100,
        concurrencyLimit: 100,
        clips:
          "1280x720 H.264 still SMPTE bars (the requested ratio's pixels; a moving test pattern would pass Storage's 50 MB object limit at 3 minutes), one per shot, of the shot's planned length (Runway gen4.5 grid: 2-10 s)",
        scenes: SCENES,
        env: MINUTES_ENV,
      },
      measured: {
        wall: "movies.created_at -> completed_at",
        criticalPath:
          "longest path through the DAG the film ran; provider jobs weigh their fixed latency, render jobs their measured run time",
        sequential: "one piece after another: the same work with no step run in parallel",
        renderedSeconds: "ffprobe duration of the finished film (movies.video_url) against the minutes asked",
        stepOverhead:
          "per paid step: movie_step_metrics started_at -> finished_at minus the provider's fixed latency (or the render task's run time)",
        handoffGap: "a step's start minus the finish of the last step it waited for",
        slices: "per film and for the whole run (top-level slices): see slices.measured",
        peakConnections:
          "highest count of client connections to the database in pg_stat_activity, sampled every 200 ms while the film ran: in all, of Edge Function workers (application_name fn:*), and by application_name",
      },
      results,
      table,
      slices,
    },
    null,
    2,
  ) + "\n",
);
await sql.end();
