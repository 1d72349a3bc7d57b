/**
 * One 12-scene film with two continuation chains, end to end on the real stack: providers are the
 * contract fakes (fixed latencies, real media), rendering is the render worker's real FFmpeg.
 * The film runs once (beforeAll); each test reads a different promise of it back.
 */
import { addressOfSigned } from "../support/stack-storage.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Row } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { criticalPath, filmDag, sequentialTime } from "../support/film-dag.ts";
import {
  CHARACTERS,
  continuesFrom,
  sceneLines,
  sceneLocations,
  screenplay,
  twoChainsPerTwelve,
} from "../support/film-script.ts";
import {
  briefFor,
  type FilmRecord,
  type FilmRig,
  filmUser,
  readFilm,
  startFilm,
  startFilmRig,
  TEST_LATENCIES,
  waitForFilm,
} from "../support/film.ts";

// The test latencies (a clip takes 2.5 s at the fake): long enough that the chains' clips overlap
// and the DAG's shape shows in the film's record. Its speed is the film benchmark's to measure.
const LATENCIES = TEST_LATENCIES;
import { download, durationOf } from "../support/render-media.ts";
import { createUser, invoke, type TestUser } from "../support/stack.ts";
import { filmDagInput, filmWallMs, renderTaskOf, timelineUrlOf } from "../support/film-record.ts";
import { gradeFromBible } from "../../shared/film/film-grade.ts";

const SHAPE = twoChainsPerTwelve(12);
const TITLE = "Fog Over the Harbour";
const written = screenplay(SHAPE, TITLE);
const dir = mkdtempSync(join(tmpdir(), "reelforge-film-"));

let rig: FilmRig;
let owner: TestUser;
let film: FilmRecord;

beforeAll(async () => {
  rig = await startFilmRig({ latencies: LATENCIES });
  owner = await filmUser(rig, SHAPE, TITLE);
  const { movieId } = await startFilm(owner, briefFor(SHAPE, TITLE));
  await waitForFilm(rig.sql, movieId, 240_000);
  await rig.checkEnvIntact();
  film = await readFilm(rig.sql, movieId);
}, 300_000);

afterAll(async () => {
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a 12-scene film with two continuation chains", () => {
  it("completes, with its video, cover and progress at 100", () => {
    const { movie, progress } = film;
    expect(movie.status, movie.error_message).toBe("completed");
    expect(movie.video_url).toMatch(/^http:\/\/.+\.mp4$/);
    expect(movie.poster_url).toMatch(/^http/);
    expect(movie.thumbnail_url).toBe(movie.poster_url);
    expect(movie.progress).toBe(100);
    expect(movie.metadata.failed_scenes).toEqual([]);
    expect(movie.metadata.warnings).toEqual([]);
    expect(progress).toMatchObject({
      overall_status: "completed",
      overall_progress: 100,
      current_step: "completed",
    });
    for (
      const [step, state] of Object.entries(
        progress.steps as Record<string, { status: string; started_at?: string; finished_at?: string }>,
      )
    ) {
      expect(state.status, step).toBe("completed");
      expect(state.finished_at, step).toBeTruthy();
    }
    expect(Object.keys(progress.steps)).toHaveLength(11);
  });

  it("fills the preproduction tables: script, visual bible, characters with voices and portraits, locations", async () => {
    expect(film.script.content.scenes).toHaveLength(12);
    expect(
      film.movie.metadata.screenplay_detailed.scenes.map((s: { scene_number: number }) => s.scene_number),
    ).toEqual(written.scenes.map((s) => s.scene_number));
    expect(film.bible.visual_style).toBe("moody maritime realism");
    const characters = await rig
      .sql`select * from public.characters where user_id = ${owner.id} order by name`;
    expect(characters.map((c) => c.name)).toEqual(CHARACTERS.map((c) => c.name));
    for (const c of characters) {
      expect(c.voice_id).toMatch(/^[A-Za-z0-9]+$/);
      expect(c.character_image_url).toMatch(/^http/);
    }
    const locations = await rig
      .sql`select location_slug from public.locations_library where user_id = ${owner.id} order by 1`;
    expect(locations.map((l) => l.location_slug)).toEqual(["harbour", "lighthouse", "market"]);
  });

  it("gives every scene its clip, end frame and reference: library, generated or the previous scene's last frame", async () => {
    const places = sceneLocations(SHAPE);
    const { scenes } = film;
    expect(scenes).toHaveLength(12);
    for (const scene of scenes) {
      const n = scene.scene_number;
      const from = continuesFrom(SHAPE, n);
      expect(scene.status, `scene ${n}: ${scene.error_message}`).toBe("completed");
      expect(scene.video_url).toMatch(/^http/);
      expect(scene.clip_url).toMatch(/^http/);
      expect(scene.end_frame_url).toMatch(/\.png$/);
      expect(scene.is_continuation).toBe(from !== null);
      expect(scene.continues_from).toBe(from);
      expect(scene.location_slug).toBe(places.get(n)!.location_id);
      // The planned screenplay (its times scaled to the film's length) is what the scene plays.
      expect(Number(scene.duration_seconds)).toBe(
        film.movie.metadata.screenplay_detailed.scenes[n - 1].duration.screen_time_seconds,
      );
      expect(scene.video_prompt.length).toBeLessThanOrEqual(1000);
      for (const line of sceneLines(SHAPE, n)) expect(scene.video_prompt).not.toContain(line.line);
      if (from !== null) {
        // Case 1: a continuation starts from its predecessor's real last frame.
        expect(scene.reference_image_source).toBe("previous_frame");
        expect(scene.reference_image_url).toBe(scenes[from - 1].end_frame_url);
      } else {
        // Cases 2 and 3: the location library's image for place + time + weather, made once.
        expect(["library", "generated"]).toContain(scene.reference_image_source);
        expect(scene.location_image_id).toBeTruthy();
      }
    }
    const images = await rig
      .sql`select * from public.location_images where user_id = ${owner.id} order by location_slug`;
    expect(images.map((i) => `${i.location_slug}/${i.time_of_day}/${i.weather}`)).toEqual([
      "harbour/dusk/fog",
      "lighthouse/night/clear",
      "market/night/rain",
    ]);
    const uses = scenes.filter((s) => s.continues_from === null).length;
    expect(images.reduce((sum, i) => sum + i.times_used, 0)).toBe(uses);
    for (const scene of scenes.filter((s) => s.continues_from === null)) {
      expect(scene.reference_image_url).toBe(images.find((i) => i.id === scene.location_image_id)!.image_url);
    }
  });

  it("asks the screenwriter for dialogue in the brief's own language", () => {
    const screenplay = rig.fakes.openai.requests.find((r) =>
      (r.response_format as { json_schema?: { name?: string } } | undefined)?.json_schema?.name ===
        "screenplay"
    );
    const system = (screenplay?.messages as { role: string; content: string }[]).find((m) =>
      m.role === "system"
    );
    expect(system?.content).toContain("Write every line of dialogue in the language the brief is written in");
  });

  it("asks Runway for each scene once, a continuation with its predecessor's end frame, signed for the private bucket", () => {
    const bodies = rig.fakes.runway.created;
    expect(bodies).toHaveLength(12);
    for (const scene of film.scenes) {
      const body = bodies.find((b) => String(b.promptText) === scene.video_prompt)!;
      expect(body, `scene ${scene.scene_number}`).toBeTruthy();
      expect(body).toMatchObject({
        model: "gen4.5",
        ratio: "1280:720",
        duration: Number(scene.duration_seconds),
      });
      expect(String(body.promptImage)).toMatch(/\/storage\/v1\/object\/sign\/.*\?token=/);
      expect(addressOfSigned(String(body.promptImage))).toBe(scene.reference_image_url);
    }
  });

  it("speaks every line into scene_audio with its character's voice and timing", async () => {
    const characters = await rig
      .sql`select name, voice_id from public.characters where user_id = ${owner.id}`;
    const expected = written.scenes.flatMap((s) =>
      s.dialogue.map((d, i) => ({ scene: s.scene_number, i, ...d }))
    );
    expect(film.audio).toHaveLength(expected.length);
    for (const [k, row] of film.audio.entries()) {
      const line = expected[k];
      expect(row).toMatchObject({
        scene_number: line.scene,
        line_index: line.i,
        character_name: line.character,
        text: line.line,
        status: "completed",
      });
      // A line moves with its scene when the planner scales the scene to the film's length.
      const planned = film.movie.metadata.screenplay_detailed.scenes[line.scene - 1];
      const scale = planned.duration.screen_time_seconds /
        written.scenes[line.scene - 1].duration.screen_time_seconds;
      expect(Number(row.start_seconds)).toBeCloseTo(line.timing * scale, 2);
      expect(Number(row.start_seconds)).toBe(planned.dialogue[line.i].timing);
      expect(row.voice_id).toBe(characters.find((c) => c.name === line.character)!.voice_id);
      expect(row.audio_url).toMatch(/^http/);
      expect(row.request_id).toBeTruthy();
    }
    expect(film.scenes.every((s) => s.audio_status === "completed" && s.mix_status === "completed")).toBe(
      true,
    );
    // With sync configured, each scene's video is its lip-synced clip, one sync job per scene.
    expect(film.metrics.filter((m) => m.provider === "sync" && m.phase === "succeeded")).toHaveLength(12);
    expect(film.scenes.every((s) => s.video_url !== s.clip_url)).toBe(true);
  });

  it("renders a film that plays for the clips' length minus the transitions' overlaps", async () => {
    const file = await download(film.movie.video_url, join(dir, "film.mp4"));
    const seconds = durationOf(file);
    const render = await renderTaskOf(rig.sql, film, "assemble_movie:render");
    const clips = render.payload.timeline.clips as {
      url: string;
      inFrame: number;
      outFrame: number;
      transition?: { type: string; frames: number };
    }[];
    expect(clips.map((c) => c.url)).toEqual(film.scenes.map(timelineUrlOf));
    let clipSeconds = 0;
    for (const [i, scene] of film.scenes.entries()) {
      const clip = durationOf(await download(clips[i].url, join(dir, `clip-${i}.mp4`)));
      expect(clip).toBeCloseTo(Number(scene.duration_seconds), 1);
      clipSeconds += clip;
      // A continuation is one shot with its predecessor: a cut, never a transition.
      if (film.scenes[i + 1]?.is_continuation) {
        expect(clips[i].transition).toEqual({ type: "cut", frames: 0 });
      }
    }
    const overlap = clips.slice(0, -1).reduce(
      (sum, c) => sum + (c.transition && c.transition.type !== "cut" ? c.transition.frames : 0),
      0,
    ) / 24;
    expect(overlap).toBeGreaterThan(0);
    expect(seconds).toBeGreaterThan(clipSeconds - overlap - 0.1);
    expect(seconds).toBeLessThan(clipSeconds - overlap + 0.1);
  });

  it("grades every clip with the one grade its visual bible gives", async () => {
    const render = await renderTaskOf(rig.sql, film, "assemble_movie:render");
    expect(render.payload.timeline.grade).toEqual(gradeFromBible(film.movie.metadata.visual_bible));
    expect(render.result).toMatchObject({ renderPath: "re_encode", graded: true });
  });

  it("records time, provider, model and cost of every paid step, and reports them in status", async () => {
    const { metrics } = film;
    expect(metrics.every((m) => m.phase === "succeeded" && m.finished_at && m.provider && m.model)).toBe(
      true,
    );
    const runway = metrics.filter((m) => m.provider === "runway");
    expect(runway).toHaveLength(12);
    expect(
      runway.every((m) =>
        m.external_id && m.submitted_at && m.model === "gen4.5" && m.cost_unit === "seconds"
      ),
    ).toBe(true);
    expect(metrics.filter((m) => m.provider === "elevenlabs")).toHaveLength(film.audio.length);
    const status = await invoke("produce-movie", { action: "status", movieId: film.movie.id }, {
      token: owner.token,
    });
    expect(status.status).toBe(200);
    const steps = Object.fromEntries(status.json.metrics.map((m: { step: string }) => [m.step, m]));
    expect(steps.generate_videos).toMatchObject({
      calls: expect.any(Number),
      providers: expect.arrayContaining(["runway/gen4.5"]),
    });
    expect(steps.generate_videos.seconds).toBeGreaterThan(0);
    expect(steps.generate_videos.cost.seconds).toBe(
      film.scenes.reduce((sum, s) => sum + Number(s.duration_seconds), 0),
    );
    expect(steps.generate_audio.providers).toEqual(expect.arrayContaining(["elevenlabs/eleven_flash_v2_5"]));
  });

  it("paid for no input twice", () => {
    for (const [provider, counts] of Object.entries(rig.fakes.submissions())) {
      expect(counts.maxPerInput, provider).toBeLessThanOrEqual(1);
    }
  });

  it("ran the DAG: chains in parallel, voices beside the clips, each mix after its clip and voices", () => {
    const at = (m: Row): number[] => [m.started_at.getTime(), m.finished_at.getTime()];
    const metric = (step: string, n: number, name: string) =>
      film.metrics.find((m) => m.scene_number === n && m.step === step && m.step_name.endsWith(name));
    for (const scene of film.scenes.filter((s) => s.continues_from !== null)) {
      const [videoStart] = at(metric("generate_videos", scene.scene_number, ":video")!);
      const [, frameEnd] = at(metric("generate_videos", scene.continues_from, ":end-frame")!);
      expect(videoStart).toBeGreaterThanOrEqual(frameEnd);
    }
    const videos = film.metrics.filter((m) => m.provider === "runway").map(at);
    const overlapping = Math.max(...videos.map(([s]) => videos.filter(([a, b]) => a <= s && s < b).length));
    expect(overlapping).toBeGreaterThan(1);
    const voices = film.metrics.filter((m) => m.provider === "elevenlabs").map(at);
    expect(Math.min(...voices.map(([s]) => s))).toBeLessThan(Math.max(...videos.map(([, e]) => e)));
    for (const scene of film.scenes) {
      // The scene's finishing step: lip sync (its dialogue track first) when configured, else the mix.
      const finish = film.metrics.find((m) =>
        m.scene_number === scene.scene_number && ["lipsync:dialogue-track", "mix"].includes(m.step_name)
      );
      const [mixStart] = at(finish!);
      const [, frameEnd] = at(metric("generate_videos", scene.scene_number, ":end-frame")!);
      const voiceEnd = Math.max(
        ...film.metrics.filter((m) => m.scene_number === scene.scene_number && m.provider === "elevenlabs")
          .map((m) => m.finished_at.getTime()),
      );
      expect(mixStart).toBeGreaterThanOrEqual(Math.max(frameEnd, voiceEnd));
    }
  });

  it("runs a DAG whose critical path is far below the sequential time of the same work", async () => {
    // Wall time against the critical path is a speed, measured by `npm run bench -- film`
    // (bench/results/film.json), never asserted here: a shared machine makes any bound flaky.
    const nodes = filmDag(await filmDagInput(rig.sql, film, LATENCIES));
    const path = criticalPath(nodes);
    const sequential = sequentialTime(nodes);
    console.log(
      `film wall ${filmWallMs(film)} ms, critical path ${path.ms} ms (${
        path.path.join(" → ")
      }), sequential ${sequential} ms`,
    );
    expect(path.path).toContain("assemble");
    expect(sequential).toBeGreaterThan(2 * path.ms);
  });

  it("shows a film only to its owner", async () => {
    const stranger = await createUser(rig.sql);
    const foreign = await invoke("produce-movie", { action: "status", movieId: film.movie.id }, {
      token: stranger.token,
    });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.code).toBe("not_found");
  });
});
