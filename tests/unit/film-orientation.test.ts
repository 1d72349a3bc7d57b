import { describe, expect, it } from "vitest";
import {
  assertOrientationFits,
  filmOrientation,
  ratioOrientation,
} from "../../shared/film/film-orientation.ts";

const runway = (ratio?: string, source: "user" | "project" = "user") => ({
  provider: "runway",
  model: "gen4.5",
  source,
  settings: ratio === undefined ? {} : { ratio },
});

describe("a film's orientation against its registered ratio", () => {
  it("reads a ratio as landscape, portrait or square", () => {
    expect(ratioOrientation("1280:720")).toBe("landscape");
    expect(ratioOrientation("1584:672")).toBe("landscape");
    expect(ratioOrientation("832:1104")).toBe("portrait");
    expect(ratioOrientation("960:960")).toBeNull();
  });

  it("refuses the orientation a registered ratio turns round, naming both and the ways out", () => {
    expect(() => assertOrientationFits("portrait", runway("1280:720"))).toThrow(
      'orientation "portrait" contradicts the ratio 1280:720 (landscape) registered on your runway gen4.5 video provider, which every clip of the film would be made at; ask for orientation "landscape", or register the video provider again (providers register) with settings.ratio 720:1280, or with no ratio so each film\'s orientation picks it',
    );
    expect(() => assertOrientationFits("landscape", runway("1080:1920"))).toThrow(
      expect.objectContaining({
        code: "orientation_conflict",
        status: 400,
        message: expect.stringContaining("contradicts the ratio 1080:1920 (portrait)"),
      }),
    );
    // The project's default is not the caller's to register again: their own row replaces it.
    expect(() => assertOrientationFits("portrait", runway("1280:720", "project"))).toThrow(
      "the project's default runway gen4.5 video provider",
    );
  });

  it("lets a matching ratio, a square one, no ratio and other providers through", () => {
    expect(() => assertOrientationFits("landscape", runway("1280:720"))).not.toThrow();
    expect(() => assertOrientationFits("portrait", runway("720:1280"))).not.toThrow();
    expect(() => assertOrientationFits("portrait", runway("960:960"))).not.toThrow();
    expect(() => assertOrientationFits("landscape", runway("960:960"))).not.toThrow();
    expect(() => assertOrientationFits("portrait", runway())).not.toThrow();
    expect(() =>
      assertOrientationFits("portrait", { provider: "local", model: "local", settings: { ratio: "640:360" } })
    ).not.toThrow();
  });

  it("takes the registered ratio's orientation when the brief names none", () => {
    expect(filmOrientation(undefined, runway("720:1280"))).toBe("portrait");
    expect(filmOrientation(undefined, runway("960:960"))).toBe("landscape");
    expect(filmOrientation(undefined, runway())).toBe("landscape");
    expect(filmOrientation("portrait", runway("1280:720"))).toBe("portrait");
  });
});
