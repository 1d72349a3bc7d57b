/**
 * Locations found on the web (docs/film-pipeline.md, "Location images"): a film whose plan marks a
 * location needs_web_search, for an owner with the Openverse fake as search provider, keeps the
 * found image — copied into our Storage, with its licence and credit line — and pays for no
 * generated image of that location; when every candidate fails the checks, it is generated.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filmAnswers, type FilmShape } from "../support/film-script.ts";
import {
  briefFor,
  type FilmRig,
  filmUser,
  QUICK_LATENCIES,
  registerFakeSearch,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import { invoke, stackEnv, type TestUser } from "../support/stack.ts";
import { bytesAtAddress } from "../support/stack-storage.ts";
import { acceptImage } from "../../shared/assets/accept/accept-image.ts";

const SHAPE: FilmShape = { scenes: 2, chains: [] };
const TITLE = "Lamps on the Rocks";
const SEARCHED = "lighthouse";

let rig: FilmRig;

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

/** A film whose plan marks the lighthouse needs_web_search; returns its location_images and the fal prompts it paid for. */
async function filmWithSearchedLighthouse(register: (user: TestUser) => Promise<void> = registerFakeSearch) {
  const user = await filmUser(rig, SHAPE, TITLE);
  await register(user);
  const answers = filmAnswers(SHAPE, TITLE);
  rig.fakes.openai.answerWith((schemaName) => {
    const answer = answers(schemaName) as {
      locations?: { location_id: string; needs_web_search: boolean }[];
    };
    if (schemaName !== "production_plan") return answer;
    return {
      ...answer,
      locations: answer.locations!.map((l) => ({ ...l, needs_web_search: l.location_id === SEARCHED })),
    };
  });
  const paidBefore = rig.fakes.fal.submitted.length;
  const { movieId } = await startFilm(user, briefFor(SHAPE, TITLE));
  const movie = await waitForFilm(rig.sql, movieId);
  await rig.checkEnvIntact();
  const images = await rig.sql`
    select * from public.location_images where user_id = ${user.id} order by location_slug`;
  const prompts = rig.fakes.fal.submitted.slice(paidBefore).map((s) => String(s.input.prompt));
  return { movie, images, prompts };
}

describe("location images found on the web", () => {
  it(
    "keeps the first good search result, copied into our Storage with its licence, and generates nothing for it",
    async () => {
      rig.fakes.openverse.answerWith(["small", "good"]);
      const { movie, images, prompts } = await filmWithSearchedLighthouse();
      expect(movie.status).toBe("completed");
      const lighthouse = images.find((i) => i.location_slug === SEARCHED)!;
      expect(lighthouse).toMatchObject({
        image_origin: "web_search",
        license: "by",
        license_version: "2.0",
        license_url: "https://creativecommons.org/licenses/by/2.0/",
        creator: "Photographer 2",
        attribution: '"Found 2" by Photographer 2 is licensed under CC BY 2.0.',
        source_url: "https://www.flickr.com/photos/test/2",
        found_image_url: lighthouse.image_url,
        search_note: null,
      });
      // In our Storage, not the fake's: the copy outlives the provider's URL.
      expect(lighthouse.image_url.startsWith(`${stackEnv().STORAGE_URL}/object/public/`)).toBe(true);
      const copy = await bytesAtAddress(lighthouse.image_url);
      expect(copy.status).toBe(200);
      expect(Array.from(copy.bytes.subarray(1, 4))).toEqual([80, 78, 71]); // "PNG"
      // The other location was not searched for: generated, with no licence to keep.
      const harbour = images.find((i) => i.location_slug === "harbour")!;
      expect(harbour).toMatchObject({ image_origin: "generated", license: null, search_note: null });
      expect(prompts.filter((p) => p.startsWith("Lighthouse at"))).toEqual([]);
      expect(prompts.filter((p) => p.startsWith("Harbour at"))).toHaveLength(1);
      expect(rig.fakes.openverse.queries.some((q) => q.startsWith("Lighthouse"))).toBe(true);
      // A regenerated image accepted in its place is not the found work: its licence stops applying
      // until the found image is accepted back.
      const accept = (url: string) =>
        rig.sql.begin((tx) =>
          acceptImage.accept(
            {
              tx,
              run: { slot: `location_image:${lighthouse.id}:image` },
              asset: { public_url: url },
            } as never,
          )
        );
      const origin = async () =>
        (await rig.sql`select image_origin from public.location_images where id = ${lighthouse.id}`)[0]
          .image_origin;
      await accept(`${lighthouse.image_url}-regenerated.png`);
      expect(await origin()).toBe("generated");
      await accept(lighthouse.image_url);
      expect(await origin()).toBe("web_search");
    },
    200_000,
  );

  it("generates the image when every candidate fails the checks, and says why", async () => {
    rig.fakes.openverse.answerWith(["small", "missing", "html"]);
    const { movie, images, prompts } = await filmWithSearchedLighthouse();
    expect(movie.status).toBe("completed");
    const lighthouse = images.find((i) => i.location_slug === SEARCHED)!;
    expect(lighthouse).toMatchObject({ image_origin: "generated", license: null, attribution: null });
    expect(lighthouse.search_note).toMatch(/no candidate passed the checks \(3\)/);
    expect(prompts.filter((p) => p.startsWith("Lighthouse at"))).toHaveLength(1);
  }, 200_000);

  it("finds a CC0 image of its own making with the offline local search provider", async () => {
    const { movie, images, prompts } = await filmWithSearchedLighthouse(async (user) => {
      const answer = await invoke("providers", {
        action: "register",
        providerType: "search",
        provider: "local",
        model: "local",
      }, { token: user.token });
      expect(answer.status).toBe(201);
    });
    expect(movie.status).toBe("completed");
    const lighthouse = images.find((i) => i.location_slug === SEARCHED)!;
    expect(lighthouse).toMatchObject({ image_origin: "web_search", license: "cc0", search_note: null });
    expect((await bytesAtAddress(lighthouse.image_url)).status).toBe(200);
    expect(prompts.filter((p) => p.startsWith("Lighthouse at"))).toEqual([]);
  }, 200_000);
});
