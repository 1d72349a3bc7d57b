/**
 * A Runway task as GET /v1/tasks/{id} answers it, and where a SUCCEEDED task keeps its video URL:
 * output[0] first, then the alternative fields older answers have used.
 */
import { z } from "zod";

export const runwayTaskSchema = z.looseObject({
  id: z.string(),
  status: z.enum(["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]),
  progress: z.number().min(0).max(1).nullish(),
  output: z.unknown().optional(),
  failure: z.string().nullish(),
  failureCode: z.string().nullish(),
});

export type RunwayTask = z.infer<typeof runwayTaskSchema>;

const first = (value: unknown): unknown => {
  const item = Array.isArray(value) ? value[0] : undefined;
  return item && typeof item === "object" ? (item as Record<string, unknown>).url : item;
};

/** The first non-placeholder candidate, or the last one seen (so the caller can say what it got). */
export function runwayOutputCandidate(task: Record<string, unknown>): unknown {
  const result = (task.result && typeof task.result === "object" ? task.result : {}) as Record<
    string,
    unknown
  >;
  const candidates = [
    first(task.output),
    task.output_url,
    task.url,
    task.video_url,
    first(result.output),
    result.output_url,
  ];
  const usable = candidates.find((value) =>
    typeof value === "string" && !["", "null", "undefined"].includes(value.trim())
  );
  return usable ?? candidates.find((value) => value !== undefined) ?? null;
}
