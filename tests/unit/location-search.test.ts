import { describe, expect, it } from "vitest";
import {
  chooseCandidate,
  declaredProblem,
  locationQuery,
  MIN_HEIGHT,
  MIN_WIDTH,
} from "../../shared/film/location-search.ts";
import { openverseCredentials, toSearchResult } from "../../shared/providers/openverse/openverse-search.ts";
import type { ImageSearchResult } from "../../shared/providers/types.ts";

const candidate = (over: Partial<ImageSearchResult> = {}): ImageSearchResult => ({
  url: "https://images.example/a.jpg",
  sourceUrl: "https://example.org/a",
  width: 1600,
  height: 900,
  license: "by",
  licenseVersion: "2.0",
  licenseUrl: "https://creativecommons.org/licenses/by/2.0/",
  creator: "Ann",
  attribution: '"A" by Ann is licensed under CC BY 2.0.',
  ...over,
});

describe("location search candidates", () => {
  it("takes the first candidate the attempt accepts and says why the earlier ones were refused", async () => {
    const tried: string[] = [];
    const { chosen, refused } = await chooseCandidate(["a", "b", "c", "d"], async (c) => {
      tried.push(c);
      return c === "c" ? { ok: true, value: `stored-${c}` } : { ok: false, problem: `${c} is bad` };
    });
    expect(chosen).toEqual({ candidate: "c", value: "stored-c" });
    expect(refused).toEqual(["a is bad", "b is bad"]);
    // Nothing after the chosen one is fetched.
    expect(tried).toEqual(["a", "b", "c"]);
  });

  it("answers null with every refusal when none passes", async () => {
    const { chosen, refused } = await chooseCandidate(["a", "b"], async (c) => ({ ok: false, problem: c }));
    expect(chosen).toBeNull();
    expect(refused).toEqual(["a", "b"]);
  });

  it("refuses images without declared dimensions or under the minimum, accepts the minimum itself", () => {
    expect(declaredProblem(candidate({ width: null }))).toBe("no declared dimensions");
    expect(declaredProblem(candidate({ width: MIN_WIDTH - 1 }))).toMatch(/under/);
    expect(declaredProblem(candidate({ height: MIN_HEIGHT - 1 }))).toMatch(/under/);
    expect(declaredProblem(candidate({ width: MIN_WIDTH, height: MIN_HEIGHT }))).toBeNull();
  });

  it("queries a location by its name and the start of its description", () => {
    expect(locationQuery("Harbour pier", "a long wooden pier at night with fog and lamps and boats moored"))
      .toBe("Harbour pier a long wooden pier at night with fog");
  });
});

describe("openverse results", () => {
  it("keeps licence, credit line and landing page; drops results without a file URL", () => {
    const result = toSearchResult({
      url: "https://live.staticflickr.com/1/2.jpg",
      foreign_landing_url: "https://www.flickr.com/photos/x/2",
      creator: "Bo",
      license: "by-sa",
      license_version: "2.0",
      license_url: "https://creativecommons.org/licenses/by-sa/2.0/",
      attribution: '"Pier" by Bo is licensed under CC BY-SA 2.0.',
      width: 1024,
      height: 768,
    });
    expect(result).toMatchObject({
      sourceUrl: "https://www.flickr.com/photos/x/2",
      license: "by-sa",
      licenseVersion: "2.0",
      creator: "Bo",
      attribution: '"Pier" by Bo is licensed under CC BY-SA 2.0.',
    });
    expect(toSearchResult({ url: null, license: "cc0" })).toBeNull();
    // Without Openverse's credit line one is composed from creator and licence.
    expect(
      toSearchResult({ url: "https://x.example/y.png", license: "by", license_version: "4.0", creator: "Cy" })
        ?.attribution,
    ).toBe("By Cy, licensed under BY 4.0");
  });

  it("reads the key as client_id:client_secret", () => {
    expect(openverseCredentials("id:se:cret")).toEqual({ clientId: "id", clientSecret: "se:cret" });
    expect(() => openverseCredentials("no-colon")).toThrow(/client_id/);
  });
});
