/**
 * Jobs that need a real machine (FFmpeg, espeak-ng, sox) run in worker processes, not in Edge
 * Functions: each is a `background_tasks` row with `worker = null`, claimed through
 * engine.claim_next_task by a worker process (scripts/render-worker.ts) that runs anywhere and
 * scales by running more of them. This folder is the job host; the capabilities register their
 * handlers with it in scripts/render-worker-handlers.ts. Kinds: `render` (timelines, mixes, frame grabs) and
 * `local_media` (the offline `local` providers' images, clips, voices, music, lip sync).
 */
import type { ObjectStorage } from "../storage/storage.ts";

/** What a worker job may touch: a private scratch dir, Storage, and the lease it holds. */
export interface WorkerJobIo {
  /** A fresh directory for this attempt; removed afterwards. */
  workDir: string;
  storage: ObjectStorage;
  /**
   * Downloads a URL to a file in workDir (an address of our Storage with the service role, when
   * the object is the job owner's; another's is PermanentTaskError input_not_yours); returns its path.
   */
  fetchToFile(url: string, fileName: string): Promise<string>;
  /** Renews the lease (the worker also does so on a timer); throws FencedOutError when lost. */
  heartbeat(): Promise<void>;
  /** Aborted when the lease is lost or the worker shuts down: kill child processes. */
  signal: AbortSignal;
}

/** Runs one job's payload to its JSON result; throw PermanentTaskError for input no retry can fix. */
export type WorkerJobHandler = (
  payload: Record<string, unknown>,
  io: WorkerJobIo,
) => Promise<Record<string, unknown>>;

/** The kinds worker processes claim. */
export const WORKER_JOB_KINDS = ["render", "local_media"] as const;
export type WorkerJobKind = (typeof WORKER_JOB_KINDS)[number];
