/**
 * Render worker: a 10-clip, 2-minute timeline, stream-copy vs re-encode path vs plain ffmpeg concat.
 * `npm run bench -- render`: a render worker process (scripts/render-worker.ts, claiming a bench-only
 * kind so the stack's own worker stays out) assembles the same 10 clips (1280x720, 24 fps, 12 s
 * each) with 5 dialogue lines, ducked music and two-pass loudnorm: whole clips and cuts (stream
 * copy), then with 12-frame dissolves (re-encode). Baseline: `ffmpeg -f concat -c copy` of the same
 * files on local disk, no mixing. Speed is media seconds / wall seconds (job started_at → finished_at,
 * downloads and upload included); median of BENCH_REPEATS (default 3). Peak RSS of the worker (Deno)
 * and of its FFmpeg children, sampled from /proc. Prints a table, writes bench/results/render.json.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import postgres from "postgres";
import type { Timeline } from "../shared/providers/types.ts";
import { timelineFrames } from "../shared/providers/render-request.ts";
import { createSupabaseStorage } from "../shared/storage/supabase-storage.ts";
import { machineInfo } from "./support/machine-info.ts";
import { markdownTable } from "./support/markdown-table.ts";
import { formatSliceReport, watchSlices } from "./support/slice-report.ts";
import { benchEnv } from "./support/stack-env.ts";
import { median, round } from "./support/stats.ts";
import { CLIP_SECONDS, CLIPS, ffmpeg, FPS, HEIGHT, makeBenchMedia, WIDTH } from "./render/bench-media.ts";
import { type RssPeaks, sampleProcessRss } from "./render/process-rss.ts";

const REPO = resolve(import.meta.dirname!, "..");
const REPEATS = Number(Deno.env.get("BENCH_REPEATS") ?? 3);
const KIND = `bench.render.${crypto.randomUUID().slice(0, 8)}`;
const stack = JSON.parse(
  Deno.readTextFileSync(join(Deno.env.get("REELFORGE_STACK_DIR") ?? join(REPO, ".stack"), "env.json")),
);
const sql = postgres(stack.DB_URL, { max: 2, onnotice: () => {} });
// The stack's Storage API with the service role, as the worker reaches it; `bench` is a private bucket
// for the outputs.
const storage = createSupabaseStorage({
  supabaseUrl: stack.API_URL,
  serviceRoleKey: stack.SERVICE_ROLE_KEY,
  sql,
});
const bucketAnswer = await fetch(`${stack.API_URL}/storage/v1/bucket`, {
  method: "POST",
  headers: {
    authorization: `Bearer ${stack.SERVICE_ROLE_KEY}`,
    apikey: stack.SERVICE_ROLE_KEY,
    "content-type": "application/json",
  },
  body: JSON.stringify({ id: "bench", name: "bench", public: false }),
});
const bucketText = await bucketAnswer.text();
if (!bucketAnswer.ok && !/already exists|Duplicate/i.test(bucketText)) {
  throw new Error(`could not create the bench bucket: ${bucketText}`);
}
const run = `bench-${Date.now()}`;
const [{ id: userId }] =
  await sql`insert into auth.users (email) values (${`bench-render-${run}@bench.local`}) returning id`;

// A job reads only its owner's files (shared/storage/owner-objects.ts): the inputs go in the bench
// user's folder of the media bucket, as a film's clips do.
const media = await makeBenchMedia(join(Deno.env.get("BENCH_MEDIA_DIR") ?? "/tmp/reelforge-bench-render"));
const inputs = `films/${userId}/${run}`;
const publish = async (file: string, name: string) => {
  await storage.upload("media", `${inputs}/${name}`, await Deno.readFile(file), {
    contentType: name.endsWith(".wav") ? "audio/wav" : "video/mp4",
    upsert: true,
  });
  return storage.publicUrl("media", `${inputs}/${name}`);
};
const clipUrls = await Promise.all(media.clips.map((f, i) => publish(f, `clip-${i}.mp4`)));
const lineUrls = await Promise.all(media.lines.map((f, i) => publish(f, `line-${i}.wav`)));
const musicUrl = await publish(media.music, "music.wav");

const frames = CLIP_SECONDS * FPS;
const timeline = (dissolve: boolean): Timeline => ({
  fps: FPS,
  width: WIDTH,
  height: HEIGHT,
  clips: clipUrls.map((url, i) => ({
    url,
    inFrame: 0,
    outFrame: frames,
    ...(dissolve && i < CLIPS - 1 ? { transition: { type: "dissolve" as const, frames: 12 } } : {}),
  })),
  dialogue: lineUrls.map((url, i) => ({ url, startFrame: frames * (2 * i) + 48 })),
  music: { url: musicUrl, startFrame: 0, gainDb: 0, duckDb: -12 },
});

function startWorker(): ChildProcess {
  const deno = join(REPO, "node_modules", ".bin", "deno");
  return spawn(deno, [
    "run",
    "-A",
    "--config",
    join(REPO, "deno.json"),
    join(REPO, "scripts", "render-worker.ts"),
    "--kinds",
    `${KIND}=render`,
  ], {
    env: { ...Deno.env.toObject(), NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function renderJob(t: Timeline, name: string) {
  const payload = { op: "assemble", timeline: t, output: { bucket: "bench", path: `${run}/${name}` } };
  const [{ id }] =
    await sql`select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${KIND}, p_function => null, p_payload => ${
      sql.json(payload)
    }, p_max_attempts => 1)`;
  for (;;) {
    const [row] =
      await sql`select status, result, last_error, extract(epoch from finished_at - started_at)::float8 as seconds from public.background_tasks where id = ${id}`;
    if (row.status === "succeeded") return { seconds: row.seconds as number, result: row.result };
    if (row.status === "failed") throw new Error(`render failed: ${JSON.stringify(row.last_error)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The render worker is a process, not an Edge Function: no slice of its own is expected here;
// the block shows that, and any function worker the gateway ended meanwhile.
const watching = await watchSlices(sql, benchEnv());
const worker = startWorker();
const rows: {
  path: string;
  mediaSeconds: number;
  wallSeconds: number[];
  rss?: RssPeaks;
  renderPath?: string;
}[] = [];
try {
  await new Promise((r) => setTimeout(r, 1500)); // the worker connects
  for (
    const [label, dissolve] of [["stream copy (cuts, whole clips)", false], [
      "re-encode (12-frame dissolves)",
      true,
    ]] as const
  ) {
    const t = timeline(dissolve);
    const rss = sampleProcessRss(worker.pid!);
    const walls: number[] = [];
    let renderPath = "";
    for (let i = 0; i < REPEATS; i++) {
      const { seconds, result } = await renderJob(t, `${dissolve ? "reencode" : "copy"}-${i}.mp4`);
      walls.push(seconds);
      renderPath = result.renderPath;
      console.error(
        `${label}: ${round(seconds, 2)} s (${result.renderPath}, ${
          round(result.durationSeconds, 3)
        } s of film)`,
      );
    }
    rows.push({
      path: label,
      mediaSeconds: timelineFrames(t) / FPS,
      wallSeconds: walls,
      rss: rss.stop(),
      renderPath,
    });
  }
  const list = join("/tmp", `${run}-concat.txt`);
  await Deno.writeTextFile(list, media.clips.map((f) => `file '${f}'\n`).join(""));
  const walls: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    walls.push(
      await ffmpeg([
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        list,
        "-c",
        "copy",
        join("/tmp", `${run}-baseline.mp4`),
      ]),
    );
  }
  console.error(`baseline: ${walls.map((w) => round(w, 2)).join(", ")} s`);
  rows.push({
    path: "baseline: ffmpeg -f concat -c copy (local files, no mix)",
    mediaSeconds: CLIPS * CLIP_SECONDS,
    wallSeconds: walls,
  });
} finally {
  worker.kill("SIGTERM");
}
const slices = await watching.stop();

const results = rows.map((r) => ({
  path: r.path,
  renderPath: r.renderPath ?? null,
  mediaSeconds: round(r.mediaSeconds, 3),
  wallSecondsRuns: r.wallSeconds.map((w) => round(w, 3)),
  wallSecondsMedian: round(median(r.wallSeconds), 3),
  timesRealTime: round(r.mediaSeconds / median(r.wallSeconds), 1),
  peakRss: r.rss ?? null,
}));
const table = markdownTable(
  ["path", "media s", "wall s (median)", "× real time", "peak RSS worker / FFmpeg / sum (MiB)"],
  results.map((
    r,
  ) => [
    r.path,
    r.mediaSeconds,
    r.wallSecondsMedian,
    r.timesRealTime,
    r.peakRss ? `${r.peakRss.workerPeakMiB} / ${r.peakRss.childPeakMiB} / ${r.peakRss.combinedPeakMiB}` : "—",
  ]),
);
console.log(table);
console.log(formatSliceReport(slices));
const machine = await machineInfo(sql);
await Deno.mkdir(join(REPO, "bench", "results"), { recursive: true });
await Deno.writeTextFile(
  join(REPO, "bench", "results", "render.json"),
  JSON.stringify(
    {
      benchmark: "render",
      machine,
      repeats: REPEATS,
      setup: {
        clips: CLIPS,
        clipSeconds: CLIP_SECONDS,
        fps: FPS,
        size: `${WIDTH}x${HEIGHT}`,
        dialogueLines: 5,
        music: true,
        loudnorm: "two-pass, linear",
        encoder: "libx264 veryfast crf 20 + AAC 192k",
      },
      measured:
        "wall = background_tasks.started_at → finished_at of the job (downloads from the local gateway, ffprobe, loudness pass, render, upload); baseline = ffmpeg process time",
      results,
      table,
      slices,
    },
    null,
    2,
  ) + "\n",
);
await sql`delete from public.background_tasks where kind = ${KIND}`;
await storage.remove(
  "media",
  [...clipUrls.map((_, i) => `clip-${i}.mp4`), ...lineUrls.map((_, i) => `line-${i}.wav`), "music.wav"]
    .map((name) => `${inputs}/${name}`),
);
await sql`delete from auth.users where id = ${userId}`;
await sql.end();
