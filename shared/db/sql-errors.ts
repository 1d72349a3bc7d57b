/**
 * The project's own SQLSTATEs, raised by its SQL functions (`raise exception ... using errcode`)
 * and matched here by name. One code, one meaning; README "SQL error codes" lists them, and
 * tests/unit/sql-errors.test.ts checks that migrations raise exactly these.
 */
export const SqlErrorCode = {
  /** A fenced write by a worker whose lease token is no longer current. */
  FencedOut: "RF001",
  /** engine.dispatch_task before engine.configure_dispatch set the functions URL. */
  DispatchNotConfigured: "RF002",
  /** engine.resume_task on a task a live holder still works on. */
  TaskActive: "RF003",
  /** A resume of a task that succeeded, waits, is queued or between slices (engine.assert_resumable). */
  TaskNothingToResume: "RF004",
  /** configure_dispatch on a database without Vault that is not the local stack. */
  VaultRequired: "RF005",
  /** An owner's resume beyond the resumes allowed per task. */
  ResumeLimitReached: "RF006",
  /** An owner's resume of a scene task whose film was cancelled. */
  FilmCancelled: "RF007",
  /** An owner's resume of part of other work, a scene task that did not fail, or an ended asset run's task. */
  TaskNotResumable: "RF008",
  /** A usage limit refused the work; the detail is JSON naming the limit (engine.admit_usage). */
  QuotaExceeded: "RF009",
  /** No asset run with this id belongs to the caller. */
  AssetRunNotFound: "RF010",
  /** Accepting an asset run that is not a preview. */
  AssetRunNotPreview: "RF011",
  /** Accepting an asset run whose slot moved past its base version (a newer accept won). */
  AssetRunStale: "RF012",
  /** Accepting an asset run whose preview was dropped meanwhile (its film was reset). */
  AssetPreviewDropped: "RF013",
  /** Resetting a film that is not the caller's or does not exist. */
  FilmNotFound: "RF014",
  /** An owner's cancel of part of other work (housekeeping, or a child task that is not a scene's). */
  TaskNotCancellable: "RF015",
  /** An owner's resume of a scene or film regeneration while its film is in production. */
  MovieInProduction: "RF016",
  /** An owner's resume of a scene or film regeneration whose work another open task is doing. */
  RegenerationInProgress: "RF017",
  /** An owner's resume of a film, or of a scene or film regeneration, while a take accepted into it is still being applied (asset.apply). */
  FilmBeingEdited: "RF018",
} as const;

export type SqlErrorCode = (typeof SqlErrorCode)[keyof typeof SqlErrorCode];
