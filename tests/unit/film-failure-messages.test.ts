/**
 * What a film says when its clips fail: the generate_videos step counts generated and failed
 * scenes (failed when none was made), the assembly's error names the scenes the film's spending
 * cap refused, and a refusal's code is quoted once.
 */
import { describe, expect, it } from "vitest";
import { selectClipsForAssembly } from "../../shared/film/assembly-rules.ts";
import { BudgetExceededError } from "../../shared/film/film-budget.ts";
import { failureDetail, failureText } from "../../shared/film/film-jobs.ts";
import { videoProgress } from "../../shared/film/scene-tasks.ts";

describe("generate_videos progress", () => {
  it("keeps 'Escena N/M generada' while no scene failed", () => {
    expect(videoProgress({ total: 2, completed: 1, failed: 0 })).toEqual({
      status: "running",
      progress: 50,
      detail: "Escena 1/2 generada",
    });
    expect(videoProgress({ total: 2, completed: 2, failed: 0 })).toMatchObject({ status: "completed" });
  });

  it("counts generated and failed scenes once one failed", () => {
    expect(videoProgress({ total: 3, completed: 1, failed: 2 })).toEqual({
      status: "completed",
      progress: 100,
      detail: "Escena 3/3: 1 generada, 2 fallidas",
    });
    expect(videoProgress({ total: 3, completed: 0, failed: 1 })).toMatchObject({
      status: "running",
      detail: "Escena 1/3: 0 generadas, 1 fallida",
    });
  });

  it("is failed, not completed, when every scene failed", () => {
    expect(videoProgress({ total: 3, completed: 0, failed: 3 })).toEqual({
      status: "failed",
      progress: 100,
      detail: "Escena 3/3: 0 generadas, 3 fallidas",
    });
  });
});

describe("a film with nothing to assemble", () => {
  const refusal = new BudgetExceededError(1, 1, 15, "seconds").message;

  it("names the scenes its spending cap refused, after the seed's wording", () => {
    expect(() =>
      selectClipsForAssembly([
        {
          scene_number: 1,
          status: "failed",
          video_url: null,
          error_message: `video generation failed: ${refusal}`,
        },
        {
          scene_number: 2,
          status: "failed",
          video_url: null,
          error_message: `image budget_exceeded: reference image failed: no more paid calls`,
        },
        {
          scene_number: 3,
          status: "failed",
          video_url: null,
          error_message: "video generation failed: SAFETY: no",
        },
      ], 1)
    ).toThrow("No videos to assemble: Failed=3, Invalid=0 (2 refused by the film's spending cap of 1 units)");
  });

  it("says nothing of a cap when none refused a scene", () => {
    expect(() =>
      selectClipsForAssembly([{ scene_number: 1, status: "failed", video_url: null, error_message: "x" }], 5)
    ).toThrow(/^No videos to assemble: Failed=1, Invalid=0$/);
  });
});

describe("a failed job's message", () => {
  it("quotes a refusal's code once", () => {
    const outcome = {
      failureCode: "budget_exceeded",
      message: new BudgetExceededError(1, 1, 2, "seconds").message,
    };
    expect(failureText(outcome)).toBe(
      "budget_exceeded: this step would cost 2 seconds, the film has spent 1 of its cap of 1 units",
    );
    expect(failureDetail(outcome)).toBe(
      "this step would cost 2 seconds, the film has spent 1 of its cap of 1 units",
    );
  });

  it("keeps a provider's code in front of a message that does not start with it", () => {
    const outcome = { failureCode: "SAFETY.INPUT.TEXT", message: "The prompt was flagged" };
    expect(failureText(outcome)).toBe("SAFETY.INPUT.TEXT: The prompt was flagged");
    expect(failureDetail(outcome)).toBe("The prompt was flagged");
  });
});
