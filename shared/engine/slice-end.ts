/**
 * Why a slice ended, as engine.slice_ends records it (migrations/*_engine.sql): a slice that
 * hands off did so because its wall-clock or its CPU budget ran out, or because its handler chose
 * to; the rest follow from the slice's outcome. Benchmarks count these to show which limit sliced
 * the work (the clone, relaying every row through the function, is the CPU-bound one).
 */
import type { SliceBudget } from "./slice-budget.ts";

/** What the slice runner (slice-runner.ts) did with one slice of a task. */
export type SliceResult =
  | "not_claimed"
  | "deferred"
  | "done"
  | "handed_off"
  | "waiting"
  | "retry_scheduled"
  | "failed"
  | "fenced_out";

export type SliceEndReason =
  | "wall_budget"
  | "cpu_budget"
  | "finished"
  | "waiting"
  | "yielded"
  | "failed"
  | "fenced_out";

export interface SliceEnd {
  /** What the runner recorded for the task. */
  result: SliceResult;
  /** Absent when the slice ended before it had one (a task kind without a handler). */
  budget?: SliceBudget;
  /**
   * How a hand-off came about: the handler returned `continue` (its own call unless a budget is
   * spent), or providerStep threw SliceYield, which it does only for wall time (a poll interval
   * longer than the slice has left, or too close to the kill to pay for a submission); or the
   * task waited on tasks that had all ended already ("wait": a wait, not a budget).
   */
  via?: "continue" | "yield" | "wait";
  /** The slice gave the task back before working: its worker was about to be killed. */
  tooLateToStart?: boolean;
}

/** The reason to record, or null for a slice that never ran (not claimed). */
export function sliceEndReason(end: SliceEnd): SliceEndReason | null {
  switch (end.result) {
    case "not_claimed":
      return null;
    case "done":
      return "finished";
    case "waiting":
      return "waiting";
    case "failed":
    case "retry_scheduled":
      return "failed";
    case "fenced_out":
      return "fenced_out";
    case "deferred":
    case "handed_off": {
      if (end.tooLateToStart) return "wall_budget";
      if (end.via === "wait") return "waiting";
      const spent = end.budget?.spentBy() ?? null;
      if (spent === "cpu") return "cpu_budget";
      if (spent === "wall" || end.via === "yield") return "wall_budget";
      return "yielded";
    }
  }
}
