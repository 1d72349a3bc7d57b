import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { searchLocationImage } from "../../../shared/film/location-search.ts";
import { createLocalSearchProvider } from "../../../shared/providers/local/local-search.ts";
import { createOpenverseSearch } from "../../../shared/providers/openverse/openverse-search.ts";
import { ProviderError } from "../../../shared/providers/provider-errors.ts";
import { createMemoryStorage } from "../../fakes/memory-storage.ts";
import { OPENVERSE_TEST_CLIENT, type OpenverseFake, startOpenverseFake } from "../../fakes/openverse-fake.ts";

const KEY = `${OPENVERSE_TEST_CLIENT.clientId}:${OPENVERSE_TEST_CLIENT.clientSecret}`;

describe("openverse search adapter against the Openverse fake", () => {
  let fake: OpenverseFake;
  const openverse = (apiKey = KEY) =>
    createOpenverseSearch({
      apiKey,
      model: "openverse",
      baseUrl: fake.baseUrl,
      allowInsecureUrls: true,
      sleep: async () => {},
    });

  beforeEach(async () => {
    fake = await startOpenverseFake();
  });
  afterEach(() => fake.close());

  it("takes a token once, searches with it and keeps each result's licence and credit line", async () => {
    const search = openverse();
    fake.answerWith(["good", "small"]);
    const first = await search.searchImages({ query: "Lighthouse old rocks", limit: 8 });
    await search.searchImages({ query: "Harbour", limit: 8 });
    expect(fake.tokensIssued()).toBe(1);
    expect(fake.queries).toEqual(["Lighthouse old rocks", "Harbour"]);
    expect(first).toHaveLength(2);
    expect(first[0]).toEqual({
      url: fake.fileUrl("found.png"),
      sourceUrl: "https://www.flickr.com/photos/test/1",
      width: 1280,
      height: 720,
      license: "by",
      licenseVersion: "2.0",
      licenseUrl: "https://creativecommons.org/licenses/by/2.0/",
      creator: "Photographer 1",
      attribution: '"Found 1" by Photographer 1 is licensed under CC BY 2.0.',
    });
  });

  it("fails as unauthorized with wrong client credentials, before any search", async () => {
    const error = await openverse("openverse-test-id:wrong").searchImages({ query: "x", limit: 1 }).catch((
      e,
    ) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.failureCode).toBe("unauthorized");
    expect(fake.queries).toEqual([]);
  });

  it("location search copies the first candidate that passes every check, with its licence", async () => {
    const storage = createMemoryStorage();
    fake.answerWith(["no_dimensions", "small", "missing", "html", "good"]);
    const found = await searchLocationImage(
      { search: openverse(), storage, bucket: "media", ownerId: "u" },
      "Lighthouse",
      "u/m/scene-1-reference-found.jpg",
    );
    expect(found.found).toMatchObject({
      storedUrl: storage.publicUrl("media", "u/m/scene-1-reference-found.jpg"),
      creator: "Photographer 5",
      license: "by",
    });
    expect(storage.objects.get("media/u/m/scene-1-reference-found.jpg")?.contentType).toBe("image/png");
  });

  it("location search answers why when no candidate passes, and when the search fails", async () => {
    const storage = createMemoryStorage();
    fake.answerWith(["small", "missing", "html"]);
    const none = await searchLocationImage(
      { search: openverse(), storage, bucket: "media", ownerId: "u" },
      "Pier",
      "p.jpg",
    );
    expect(none).toMatchObject({ found: null });
    expect(none.found === null && none.reason).toMatch(/no candidate passed the checks \(3\)/);
    fake.fault("GET /v1/images/", { status: 400, body: { detail: "bad query" } });
    const failed = await searchLocationImage(
      { search: openverse(), storage, bucket: "media", ownerId: "u" },
      "Pier",
      "p.jpg",
    );
    expect(failed.found === null && failed.reason).toMatch(/^search failed/);
  });

  it("location search starts no candidate once its time is spent", async () => {
    const storage = createMemoryStorage();
    fake.answerWith(["good", "good"]);
    const late = await searchLocationImage(
      { search: openverse(), storage, bucket: "media", ownerId: "u", budgetMs: 0 },
      "Pier",
      "p.jpg",
    );
    expect(late.found === null && late.reason).toMatch(/time ran out/);
    expect(storage.objects.size).toBe(0);
  });
});

describe("local search provider", () => {
  it("answers one CC0 image of its own making, in Storage", async () => {
    const storage = createMemoryStorage();
    const [result] = await createLocalSearchProvider({ storage, bucket: "media" }).searchImages({
      query: "Harbour at dusk",
      limit: 8,
    });
    expect(result).toMatchObject({ license: "cc0", width: 1280, height: 720 });
    const path = result.url.slice(result.url.indexOf("search-local/"));
    const bytes = (await storage.download("media", path))!;
    // A PNG signature and the dimensions in its IHDR.
    expect(Array.from(bytes.slice(1, 4))).toEqual([80, 78, 71]);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([1280, 720]);
  });
});
