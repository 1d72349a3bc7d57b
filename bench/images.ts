/**
 * Image saves: one row per image (generated_images) vs a JSONB read-modify-write.
 * `npm run bench -- images`: SAVES saves into one film over CONNECTIONS connections, each way,
 * median of REPEATS runs with the order alternating; counts the images each way kept (lost =
 * saved − present) and saves/s. Prints a markdown table and writes bench/results/images.json.
 *
 * BENCH_IMAGE_SAVES (default 1000) and BENCH_IMAGE_CONNECTIONS (default 16) change the load.
 */
import postgres from "postgres";
import { join, resolve } from "node:path";
import { benchEnv } from "./support/stack-env.ts";
import { machineInfo } from "./support/machine-info.ts";
import { markdownTable } from "./support/markdown-table.ts";
import { formatSliceReport, watchSlices } from "./support/slice-report.ts";
import { median, round } from "./support/stats.ts";
import { dropBenchUser, ensureBenchUser } from "./engine/bench-user.ts";

const SAVES = Number(Deno.env.get("BENCH_IMAGE_SAVES") ?? 1000);
const CONNECTIONS = Number(Deno.env.get("BENCH_IMAGE_CONNECTIONS") ?? 16);
const IMAGES_PER_SCENE = 20;
const REPEATS = 3;
const REPO = resolve(import.meta.dirname!, "..");

interface Save {
  sceneIndex: number;
  imageIndex: number;
  url: string;
}

const env = benchEnv();
const admin = postgres(env.DB_URL, { max: 2, onnotice: () => {} });
const pool = postgres(env.DB_URL, { max: CONNECTIONS, onnotice: () => {} });

function plannedSaves(): Save[] {
  return Array.from({ length: SAVES }, (_, i) => ({
    sceneIndex: 1 + Math.floor(i / IMAGES_PER_SCENE),
    imageIndex: i % IMAGES_PER_SCENE,
    url: `https://cdn.example/bench/${i}.png`,
  }));
}

/** A request row in the legacy shape: generated_output.scenes[] with empty imageUrls. */
async function newRequest(userId: string): Promise<string> {
  const scenes = Array.from(
    { length: Math.ceil(SAVES / IMAGES_PER_SCENE) },
    (_, i) => ({ index: i + 1, imageUrls: [] }),
  );
  const [row] = await admin`
    insert into public.image_requests (user_id, generated_output) values (${userId}, ${
    admin.json({ scenes })
  }) returning id`;
  return row.id;
}

/** CONNECTIONS workers draining one queue of saves, so CONNECTIONS saves are in flight at once. */
async function runConcurrently(saves: Save[], save: (s: Save) => Promise<void>): Promise<number> {
  const queue = [...saves];
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await save(next);
  }));
  return performance.now() - started;
}

async function tableRun(userId: string) {
  const requestId = await newRequest(userId);
  const ms = await runConcurrently(plannedSaves(), async (s) => {
    await pool`select public.save_generated_image(${requestId}, ${s.sceneIndex}, ${s.imageIndex}, ${s.url})`;
  });
  const [{ present, slots }] = await admin`
    select count(*)::int as present, count(distinct (scene_index, image_index))::int as slots
      from public.generated_images where request_id = ${requestId}`;
  if (present !== slots) throw new Error(`table: ${present} rows in ${slots} slots`);
  return { present, ms };
}

/** The old saveImageToDatabase before generated_images: read the JSONB, append in JS, write it back. */
async function jsonbRun(userId: string) {
  const requestId = await newRequest(userId);
  const ms = await runConcurrently(plannedSaves(), async (s) => {
    const [row] = await pool`select generated_output from public.image_requests where id = ${requestId}`;
    const output = row.generated_output as { scenes: { index: number; imageUrls: string[] }[] };
    const scene = output.scenes.find((sc) => sc.index === s.sceneIndex)!;
    scene.imageUrls = [...scene.imageUrls, s.url];
    await pool`update public.image_requests set generated_output = ${
      pool.json(output)
    } where id = ${requestId}`;
  });
  const [{ present }] = await admin`
    select coalesce(sum(jsonb_array_length(s -> 'imageUrls')), 0)::int as present
      from public.image_requests, jsonb_array_elements(generated_output -> 'scenes') s where id = ${requestId}`;
  return { present, ms };
}

async function git(...args: string[]) {
  const out = await new Deno.Command("git", { args, cwd: REPO, stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

try {
  const userId = await ensureBenchUser(admin);
  // Database only: no slice is expected; the block says so, and what the gateway ended meanwhile.
  const watching = await watchSlices(admin, env);
  const runs = {
    table: [] as { present: number; ms: number }[],
    jsonb: [] as { present: number; ms: number }[],
  };
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const sides = [
      async () => runs.table.push(await tableRun(userId)),
      async () => runs.jsonb.push(await jsonbRun(userId)),
    ];
    if (repeat % 2 === 1) sides.reverse();
    for (const side of sides) await side();
  }
  const summary = (side: { present: number; ms: number }[]) => ({
    runs: side.map((r) => ({
      present: r.present,
      lost: SAVES - r.present,
      savesPerSecond: round(SAVES / (r.ms / 1000)),
    })),
    lostMedian: median(side.map((r) => SAVES - r.present)),
    savesPerSecondMedian: round(median(side.map((r) => SAVES / (r.ms / 1000)))),
  });
  const slices = await watching.stop();
  const table = summary(runs.table);
  const jsonb = summary(runs.jsonb);
  const rendered = markdownTable(
    [
      "approach",
      "saves",
      "images kept (runs)",
      "images lost (median)",
      "saves/s (median)",
      "vs JSONB saves/s",
    ],
    [
      [
        "generated_images (save_generated_image, insert … on conflict)",
        SAVES,
        table.runs.map((r) => r.present).join(", "),
        table.lostMedian,
        table.savesPerSecondMedian,
        round(table.savesPerSecondMedian / jsonb.savesPerSecondMedian, 2),
      ],
      [
        "JSONB read-modify-write (append in JS, no lock)",
        SAVES,
        jsonb.runs.map((r) => r.present).join(", "),
        jsonb.lostMedian,
        jsonb.savesPerSecondMedian,
        1,
      ],
    ],
  );
  console.log(
    `## ${SAVES} image saves into one film over ${CONNECTIONS} connections, median of ${REPEATS}\n\n${rendered}`,
  );
  console.log(`\n${formatSliceReport(slices)}`);
  const path = join(REPO, "bench", "results", "images.json");
  await Deno.mkdir(join(REPO, "bench", "results"), { recursive: true });
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      {
        benchmark: "images",
        commit: await git("rev-parse", "HEAD"),
        uncommitted: (await git("status", "--porcelain", "--", "bench/images.ts", "migrations")).split("\n")
          .filter(Boolean),
        machine: await machineInfo(admin),
        config: {
          saves: SAVES,
          connections: CONNECTIONS,
          imagesPerScene: IMAGES_PER_SCENE,
          repeats: REPEATS,
        },
        measured: {
          table:
            "select public.save_generated_image(request, scene, image, url) per save: one insert … on conflict on the unique slot",
          jsonb:
            "per save: select generated_output; append the URL to its scene in JS; update generated_output (no lock)",
          lost: "saves − images present afterwards",
        },
        table,
        jsonb,
        rendered,
        slices,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nwrote ${path}`);
} finally {
  await dropBenchUser(admin); // cascades to the image requests and their images
  await pool.end();
  await admin.end();
}
