/**
 * regenerate-asset against the contract fakes (film rig): identical inputs with a pinned seed copy
 * an existing file (0 paid submissions); no seed is a new take, paid (asset-take.ts), as is a new
 * seed or prompt; draft.model reaches the provider,
 * music and library images (portrait, location image) go through the whole flow to accept, and
 * every new input rule answers 4xx naming the problem with no run created.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_API_KEYS, type FakeProvider } from "../fakes/start-fakes.ts";
import {
  briefFor,
  type FilmRig,
  filmUser,
  QUICK_LATENCIES,
  registerFakeProviders,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import { createUser, invoke, stackEnv, type TestUser, waitFor, waitForStatus } from "../support/stack.ts";
import { bytesAtAddress, stackStorage } from "../support/stack-storage.ts";

const SHAPE = { scenes: 2, chains: [] };
const TITLE = "Fog Takes";

let rig: FilmRig;
let owner: TestUser;
let movieId: string;
let characterId: string;
let locationImageId: string;

const regenerate = (body: Record<string, unknown>, user = owner) =>
  invoke("regenerate-asset", body, { token: user.token });
const paid = (fake: FakeProvider) => rig.fakes.submissions()[fake].total;
/** Stored addresses do not serve from the private bucket: read them with the service role. */
const bytesOf = bytesAtAddress;
const runCount = async () =>
  (await rig.sql`select count(*)::int as n from public.asset_runs where user_id = ${owner.id}`)[0]
    .n as number;

/** Starts a run and waits for its preview; returns the run id and the preview version's row. */
async function preview(kind: string, target: Record<string, unknown>, draft: Record<string, unknown>) {
  const start = await regenerate({ action: "start", kind, target, draft });
  expect(start.status, start.text).toBe(202);
  const run = await waitFor(async () => {
    const [row] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
    return row.status !== "running" ? row : null;
  }, { timeoutMs: 60_000, what: `the ${kind} preview` });
  expect(run.status, run.error).toBe("preview");
  const [asset] = await rig.sql`select * from public.assets where id = ${run.preview_asset_id}`;
  return { runId: start.json.runId as string, asset };
}

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  owner = await filmUser(rig, SHAPE, TITLE);
  ({ movieId } = await startFilm(owner, briefFor(SHAPE, TITLE)));
  const movie = await waitForFilm(rig.sql, movieId, 180_000);
  expect(movie.status, movie.error_message).toBe("completed");
  await rig.checkEnvIntact();
  [{ id: characterId }] = await rig
    .sql`select id from public.characters where created_by_movie_id = ${movieId} and character_image_url is not null order by name limit 1`;
  [{ location_image_id: locationImageId }] = await rig.sql`
    select location_image_id from public.movie_scenes where movie_id = ${movieId} and location_image_id is not null order by scene_number limit 1`;
}, 300_000);

afterAll(async () => {
  await rig?.close();
});

interface KindCase {
  kind: string;
  fake: FakeProvider;
  target: () => Record<string, unknown>;
  draft: Record<string, unknown>;
  /** The same draft with another seed (music: another prompt, Beatoven has no seed). */
  retake: Record<string, unknown>;
  /** The draft pins a seed: the same draft again is the same take. Beatoven has none: a new take. */
  pinned: boolean;
  model?: { model: string; received: () => unknown };
}

const CASES: KindCase[] = [
  {
    kind: "video",
    fake: "runway",
    target: () => ({ movieId, sceneNumber: 1 }),
    draft: { prompt: "Ada lowers the lantern into the fog", settings: { seed: 5 } },
    pinned: true,
    retake: { prompt: "Ada lowers the lantern into the fog", settings: { seed: 11 } },
    model: { model: "gen4_turbo", received: () => rig.fakes.runway.created.at(-1)!.model },
  },
  {
    kind: "audio",
    fake: "elevenlabs",
    target: () => ({ movieId, sceneNumber: 1, lineIndex: 0 }),
    draft: { text: "Hold the light, Bruno.", settings: { seed: 5 } },
    pinned: true,
    retake: { text: "Hold the light, Bruno.", settings: { seed: 11, stability: 0.3, speed: 1.1 } },
    // eleven_v3 refuses request stitching (the fake too): the line is voiced unstitched.
    model: { model: "eleven_v3", received: () => rig.fakes.elevenlabs.requests.at(-1)!.body.model_id },
  },
  {
    kind: "cover",
    fake: "fal",
    target: () => ({ movieId }),
    draft: { prompt: "A fogbound harbour, poster", settings: { seed: 5 } },
    pinned: true,
    retake: { prompt: "A fogbound harbour, poster", settings: { seed: 11 } },
    model: { model: "fal-ai/flux/dev", received: () => rig.fakes.fal.submitted.at(-1)!.modelPath },
  },
  {
    kind: "image",
    fake: "fal",
    target: () => ({ movieId, characterId }),
    draft: { prompt: "A harbour pilot at the wheel, oil painting", settings: { seed: 5 } },
    pinned: true,
    retake: { prompt: "A harbour pilot at the wheel, oil painting", settings: { seed: 11 } },
    model: { model: "fal-ai/flux/dev", received: () => rig.fakes.fal.submitted.at(-1)!.modelPath },
  },
  {
    kind: "music",
    fake: "beatoven",
    target: () => ({ movieId }),
    draft: { prompt: "Foghorn drone under slow strings" },
    pinned: false,
    retake: { prompt: "Foghorn drone under slow strings, warmer" },
  },
];

describe("regenerating with the same inputs", () => {
  it.each(CASES)(
    "$kind: the same draft after a reject is a copy with 0 provider calls when it pins a seed; a new seed or prompt pays once; draft.model reaches the provider",
    async (c) => {
      const before = paid(c.fake);
      const first = await preview(c.kind, c.target(), c.draft);
      expect(paid(c.fake)).toBe(before + 1);
      expect(first.asset.inputs_hash).toMatch(/^[0-9a-f]{64}$/);
      const firstBytes = await bytesOf(first.asset.public_url);
      expect(firstBytes.status).toBe(200);
      expect((await regenerate({ action: "reject", runId: first.runId })).status).toBe(200);

      if (!c.pinned) {
        // No seed to pin: the same draft again is a new take, paid, and not answered by the cache.
        const take = await preview(c.kind, c.target(), c.draft);
        expect(paid(c.fake)).toBe(before + 2);
        expect(take.asset.params.cachedFrom).toBeUndefined();
        expect(take.asset.params.take).toEqual(expect.any(Number));
        expect(take.asset.inputs_hash).not.toBe(first.asset.inputs_hash);
        const retake = await preview(c.kind, c.target(), c.retake);
        expect(paid(c.fake)).toBe(before + 3);
        expect(retake.asset.params.cachedFrom).toBeUndefined();
        return;
      }
      const again = await preview(c.kind, c.target(), c.draft);
      expect(paid(c.fake)).toBe(before + 1);
      expect(again.asset.params.cachedFrom).toEqual({ source: "assets", id: first.asset.id });
      expect(again.asset.inputs_hash).toBe(first.asset.inputs_hash);
      expect(again.asset.storage_path).not.toBe(first.asset.storage_path);
      const againBytes = await bytesOf(again.asset.public_url);
      expect(againBytes.status).toBe(200);
      expect(againBytes.bytes.equals(firstBytes.bytes)).toBe(true);
      expect(again.asset.content_hash).toBe(first.asset.content_hash);

      const retake = await preview(c.kind, c.target(), c.retake);
      expect(paid(c.fake)).toBe(before + 2);
      expect(retake.asset.params.cachedFrom).toBeUndefined();
      expect(retake.asset.inputs_hash).not.toBe(first.asset.inputs_hash);

      if (c.model) {
        const other = await preview(c.kind, c.target(), { ...c.draft, model: c.model.model });
        expect(paid(c.fake)).toBe(before + 3);
        expect(c.model.received()).toBe(c.model.model);
        expect(other.asset.model).toBe(c.model.model);
      }
    },
    180_000,
  );

  it("puts the draft's seed and voice settings on the wire", () => {
    expect(rig.fakes.runway.created.some((body) => body.seed === 11)).toBe(true);
    expect(rig.fakes.fal.submitted.filter((s) => s.input.seed === 11)).toHaveLength(2);
    const voiced = rig.fakes.elevenlabs.requests.find((r) => r.body.seed === 11)!;
    expect(voiced.body.voice_settings).toEqual({ stability: 0.3, speed: 1.1 });
  });

  it("makes a new, paid take each time the scene's inputs are sent again unchanged", async () => {
    const before = paid("runway");
    const first = await preview("video", { movieId, sceneNumber: 2 }, {});
    const second = await preview("video", { movieId, sceneNumber: 2 }, {});
    expect(paid("runway")).toBe(before + 2);
    for (const take of [first, second]) expect(take.asset.params.cachedFrom).toBeUndefined();
    // Two takes: fresh seeds on the wire, two versions with inputs of their own.
    const [a, b] = rig.fakes.runway.created.slice(-2);
    expect(a.seed).toEqual(expect.any(Number));
    expect(b.seed).toEqual(expect.any(Number));
    expect(a.seed).not.toBe(b.seed);
    expect([first.asset.params.seed, second.asset.params.seed]).toEqual([a.seed, b.seed]);
    expect(second.asset.inputs_hash).not.toBe(first.asset.inputs_hash);
    expect(second.asset.version).not.toBe(first.asset.version);
    expect(second.asset.storage_path).not.toBe(first.asset.storage_path);
    // The pipeline's own entry for the scene's inputs is untouched: its identical request still hits.
    const [scene] = await rig
      .sql`select clip_url from public.movie_scenes where movie_id = ${movieId} and scene_number = 2`;
    const [entry] = await rig
      .sql`select status from public.generated_videos where user_id = ${owner.id} and video_url = ${scene.clip_url}`;
    expect(entry.status).toBe("completed");
  }, 60_000);
});

describe("regenerating music and library images to the end", () => {
  it(
    "accepts new music: metadata.music_url is the new version, the film is reassembled with it, the old URL still serves the old track",
    async () => {
      const [old] = await rig
        .sql`select metadata ->> 'music_url' as music_url, video_url from public.movies where id = ${movieId}`;
      expect(old.music_url).toMatch(/^http/);
      const oldBytes = await bytesOf(old.music_url);
      const { runId, asset } = await preview("music", { movieId }, {
        prompt: "A lone accordion over the harbour bells",
      });
      const accepted = await regenerate({ action: "accept", runId });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.json.applyTaskId).toBeTruthy();
      await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);

      const [now] = await rig
        .sql`select metadata ->> 'music_url' as music_url, video_url from public.movies where id = ${movieId}`;
      expect(now.music_url).toBe(asset.public_url);
      expect(now.music_url).not.toBe(old.music_url);
      expect(now.video_url).not.toBe(old.video_url);
      // The trigger saw the accepted version already current: one current, no second version of the URL.
      const currents = await rig
        .sql`select id from public.assets where slot = ${`movie:${movieId}:music`} and state = 'current'`;
      expect(currents.map((r) => r.id)).toEqual([asset.id]);
      expect(
        (await rig.sql`select count(*)::int as n from public.assets where public_url = ${asset.public_url}`)[
          0
        ].n,
      ).toBe(1);
      const stillOld = await bytesOf(old.music_url);
      expect(stillOld.status).toBe(200);
      expect(stillOld.bytes.equals(oldBytes.bytes)).toBe(true);
      const [assembly] = await rig.sql`
      select t.status from public.background_tasks t where t.parent_id = ${accepted.json.applyTaskId} and t.kind = 'film.assemble'`;
      expect(assembly.status).toBe("succeeded");
      // The film's new render is the one whose timeline carries the new track.
      const renders = await rig.sql`
      select payload -> 'output' ->> 'path' as path from public.background_tasks
       where kind = 'render' and payload ->> 'op' = 'assemble' and payload -> 'timeline' -> 'music' ->> 'url' = ${asset.public_url}`;
      expect(renders).toHaveLength(1);
      expect(now.video_url.endsWith(renders[0].path)).toBe(true);
    },
    180_000,
  );

  it(
    "accepts a new portrait into the character's row, as a library version that belongs to no film",
    async () => {
      const [old] = await rig
        .sql`select character_image_url from public.characters where id = ${characterId}`;
      const { runId, asset } = await preview("image", { movieId, characterId }, {
        prompt: "A harbour pilot in a yellow oilskin, portrait",
      });
      const accepted = await regenerate({ action: "accept", runId });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.json.applyTaskId).toBeUndefined();
      const [now] = await rig
        .sql`select character_image_url from public.characters where id = ${characterId}`;
      expect(now.character_image_url).toBe(asset.public_url);
      expect(now.character_image_url).not.toBe(old.character_image_url);
      const currents = await rig
        .sql`select id, movie_id from public.assets where slot = ${`character:${characterId}:image`} and state = 'current'`;
      expect(currents).toEqual([{ id: asset.id, movie_id: null }]);
      expect((await bytesOf(old.character_image_url)).status).toBe(200);
    },
    60_000,
  );

  it(
    "accepts a new location image into the library; the film's scenes keep the frames their clips were made from",
    async () => {
      const scenesBefore = await rig
        .sql`select scene_number, reference_image_url, clip_url from public.movie_scenes where movie_id = ${movieId} order by scene_number`;
      const [old] = await rig.sql`select image_url from public.location_images where id = ${locationImageId}`;
      const { runId, asset } = await preview("image", { movieId, locationImageId }, {});
      expect(asset.params.prompt).toBe(
        (await rig.sql`select generation_prompt from public.location_images where id = ${locationImageId}`)[0]
          .generation_prompt,
      );
      const accepted = await regenerate({ action: "accept", runId });
      expect(accepted.status, accepted.text).toBe(200);
      const [now] = await rig.sql`select image_url from public.location_images where id = ${locationImageId}`;
      expect(now.image_url).toBe(asset.public_url);
      expect(now.image_url).not.toBe(old.image_url);
      const currents = await rig
        .sql`select id from public.assets where slot = ${`location_image:${locationImageId}:image`} and state = 'current'`;
      expect(currents.map((r) => r.id)).toEqual([asset.id]);
      expect(
        await rig
          .sql`select scene_number, reference_image_url, clip_url from public.movie_scenes where movie_id = ${movieId} order by scene_number`,
      ).toEqual(scenesBefore);
    },
    60_000,
  );
});

describe("bad input for the new rules", () => {
  it("answers 4xx naming the problem and creates no run", async () => {
    const stranger = await createUser(rig.sql);
    rig.users.push(stranger);
    const [foreign] = await rig.sql`
      insert into public.characters (user_id, name, description, voice_id) values (${stranger.id}, 'Ada', 'someone else''s Ada', 'voice-ada') returning id`;
    const [unused] = await rig.sql`
      insert into public.location_images (user_id, location_name, location_slug, time_of_day, weather, image_url)
      values (${owner.id}, 'Quay', 'quay', 'noon', 'clear', 'http://127.0.0.1:54321/storage/v1/object/public/media/x.png') returning id`;
    const runsBefore = await runCount();
    const cases: [string, Record<string, unknown>, number, string, string][] = [
      [
        "an unknown setting",
        { kind: "video", target: { movieId, sceneNumber: 1 }, draft: { settings: { guidance: 3 } } },
        400,
        "invalid_draft",
        '"guidance" is not a setting of kind video',
      ],
      [
        "a seed out of range",
        { kind: "cover", target: { movieId }, draft: { settings: { seed: -1 } } },
        400,
        "invalid_draft",
        "draft.settings.seed must be a whole number in 0..4294967295",
      ],
      [
        "a voice speed out of range",
        {
          kind: "audio",
          target: { movieId, sceneNumber: 1, lineIndex: 0 },
          draft: { settings: { speed: 2 } },
        },
        400,
        "invalid_draft",
        "draft.settings.speed must be a number in 0.7..1.2",
      ],
      [
        "a seed for Beatoven",
        { kind: "music", target: { movieId }, draft: { settings: { seed: 3 } } },
        400,
        "unsupported_setting",
        "music provider beatoven takes no seed",
      ],
      [
        "a music prompt over 500 characters",
        { kind: "music", target: { movieId }, draft: { prompt: "x".repeat(501) } },
        400,
        "invalid_draft",
        "at most 500",
      ],
      [
        "a model Runway does not have",
        { kind: "video", target: { movieId, sceneNumber: 1 }, draft: { model: "gen3a_turbo" } },
        400,
        "invalid_model",
        "expected one of: gen4.5, gen4_turbo",
      ],
      [
        "a model Beatoven does not have",
        { kind: "music", target: { movieId }, draft: { model: "lyria" } },
        400,
        "invalid_model",
        "expected one of: maestro",
      ],
      [
        "an unknown character",
        { kind: "image", target: { movieId, characterId: crypto.randomUUID() } },
        400,
        "unknown_character",
        "has no character",
      ],
      [
        "another user's character",
        { kind: "image", target: { movieId, characterId: foreign.id } },
        400,
        "unknown_character",
        `has no character ${foreign.id}`,
      ],
      [
        "a location image this film never used",
        { kind: "image", target: { movieId, locationImageId: unused.id } },
        400,
        "unknown_location_image",
        `has no location image ${unused.id}`,
      ],
      [
        "both library ids",
        { kind: "image", target: { movieId, characterId, locationImageId } },
        400,
        "invalid_target",
        "characterId } or { movieId, locationImageId }",
      ],
      [
        "a character on kind cover",
        { kind: "cover", target: { movieId, characterId } },
        400,
        "invalid_target",
        "belong to kind image",
      ],
    ];
    for (const [what, body, status, code, message] of cases) {
      const answer = await regenerate({ action: "start", ...body });
      expect(answer.status, `${what}: ${answer.text}`).toBe(status);
      expect(answer.json.error.code, what).toBe(code);
      expect(answer.json.error.message, what).toContain(message);
    }
    expect(await runCount()).toBe(runsBefore);
  });

  it("refuses music for a film whose owner has no music provider (409), creating no run", async () => {
    const quiet = await createUser(rig.sql);
    rig.users.push(quiet);
    await registerFakeProviders(quiet, ["llm", "video", "image", "audio"]);
    const [film] = await rig.sql`
      insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
      values (${quiet.id}, 'Silent Fog', 'A film made without music', 'drama', 1, 'completed') returning id`;
    const answer = await regenerate({ action: "start", kind: "music", target: { movieId: film.id } }, quiet);
    expect(answer.status, answer.text).toBe(409);
    expect(answer.json.error.code).toBe("no_music_provider");
    expect(answer.json.error.message).toContain("has no music provider");
    expect((await rig.sql`select count(*)::int as n from public.asset_runs where movie_id = ${film.id}`)[0].n)
      .toBe(0);
  });
});

describe("a line voiced on another provider", () => {
  it("voices a line again in its character's voice when the provider cannot speak the line's, and refuses when neither", async () => {
    const [line] = await rig.sql`
      select id, scene_number, line_index, voice_id, character_id from public.scene_audio
       where movie_id = ${movieId} and status = 'completed' and character_id is not null
       order by scene_number, line_index limit 1`;
    const [character] = await rig.sql`select voice_id from public.characters where id = ${line.character_id}`;
    const target = { movieId, sceneNumber: line.scene_number, lineIndex: line.line_index };
    // As if the line had been voiced on `local` before its owner moved their voices to ElevenLabs.
    await rig.sql`update public.scene_audio set voice_id = 'voice-ada' where id = ${line.id}`;
    try {
      const { asset } = await preview("audio", target, { text: "Said again, in the library's voice." });
      // Before: sent as voice-ada, which ElevenLabs' adapter refuses; the run was counted, then failed.
      expect(asset.params.voiceId).toBe(character.voice_id);

      await rig.sql`update public.characters set voice_id = 'voice-ada' where id = ${line.character_id}`;
      const slot = `line:${line.id}:audio`;
      const [runsBefore] = await rig
        .sql`select count(*)::int as n from public.asset_runs where slot = ${slot}`;
      const refused = await regenerate({
        action: "start",
        kind: "audio",
        target,
        draft: { text: "And again." },
      });
      expect(refused.status, refused.text).toBe(400);
      expect(refused.json.error.code).toBe("invalid_voice");
      expect(refused.json.error.message).toContain(
        '"voice-ada" is not one the owner\'s audio provider elevenlabs speaks',
      );
      const [runsAfter] = await rig
        .sql`select count(*)::int as n from public.asset_runs where slot = ${slot}`;
      expect(runsAfter.n).toBe(runsBefore.n);
    } finally {
      await rig.sql`update public.scene_audio set voice_id = ${line.voice_id} where id = ${line.id}`;
      await rig
        .sql`update public.characters set voice_id = ${character.voice_id} where id = ${line.character_id}`;
    }
  });
});

describe("a movie's id in capitals", () => {
  it("names the film's own slot, so the run is measured against its current version", async () => {
    const slot = `movie:${movieId}:cover`;
    const [current] = await rig
      .sql`select version from public.assets where slot = ${slot} and state = 'current'`;
    expect(current).toBeTruthy();
    // Before: a slot of its own (movie:<ID IN CAPITALS>:cover) with no base version, whose accept made
    // a second current cover for the film.
    const { runId } = await preview("cover", { movieId: movieId.toUpperCase() }, {
      prompt: "The harbour at dawn",
      settings: { seed: 41 },
    });
    const [run] = await rig.sql`select slot, base_version from public.asset_runs where id = ${runId}`;
    expect(run).toEqual({ slot, base_version: current.version });
    expect((await regenerate({ action: "reject", runId })).status).toBe(200);
  });
});

describe("a model on the project's key", () => {
  it("is the project default's own: another is refused before anything is counted", async () => {
    const [own] = await rig.sql`
      select id from public.api_providers where user_id = ${owner.id} and provider_type = 'video' and is_active`;
    const asService = { token: stackEnv().SERVICE_ROLE_KEY, path: "/defaults" };
    const registered = await invoke("providers", {
      action: "register",
      providerType: "video",
      provider: "runway",
      model: "gen4_turbo",
      apiKey: FAKE_API_KEYS.runway,
    }, asService);
    expect(registered.status, registered.text).toBe(201);
    // The owner's video now runs on the project's key.
    await rig.sql`update public.api_providers set is_active = false where id = ${own.id}`;
    try {
      const runsBefore = await runCount();
      const target = { movieId, sceneNumber: 1 };
      // Before: admitted at a regeneration's weight, and made with Veo on the project's key.
      const refused = await regenerate({ action: "start", kind: "video", target, draft: { model: "veo3" } });
      expect(refused.status, refused.text).toBe(403);
      expect(refused.json.error.code).toBe("model_not_allowed");
      expect(refused.json.error.message).toContain(
        "which runs gen4_turbo for every user on the project's key",
      );
      expect(await runCount()).toBe(runsBefore);
    } finally {
      await rig.sql`update public.api_providers set is_active = true where id = ${own.id}`;
      await rig.sql`delete from public.api_providers where id = ${registered.json.provider?.id ?? null}`;
    }
  });
});

describe("another tenant's objects in a prompt", () => {
  it("are handed to the provider as written, not signed: only the prompt's owner's objects are", async () => {
    // Tenant B's private poster, whose address A learnt from a link B shared.
    const stranger = await createUser(rig.sql);
    const storage = stackStorage();
    const theirs = `films/${stranger.id}/${crypto.randomUUID()}/poster.png`;
    await storage.upload("media", theirs, new TextEncoder().encode("their poster"), {
      contentType: "image/png",
    });
    const theirAddress = storage.publicUrl("media", theirs);
    const [{ poster_url: ownAddress }] = await rig
      .sql`select poster_url from public.movies where id = ${movieId}`;
    // A prompt that is an address of ours is signed for the provider (a field of ours may be one).
    const sent = async (prompt: string, seed: number) => {
      await preview("cover", { movieId }, { prompt, settings: { seed } });
      return String(rig.fakes.fal.submitted.at(-1)!.input.prompt);
    };
    // Before: B's poster went out as a 24-hour signed URL, which A's own fal account shows back.
    expect(await sent(theirAddress, 23)).toBe(theirAddress);
    expect(await sent(ownAddress, 29)).toContain(`/object/sign/media/films/${owner.id}/`);
  });
});
