/**
 * Timeouts of the paid synchronous calls (text to speech, LLM), sized to the request: a long line
 * or a long screenplay takes longer to make, and a timeout on a paid call is final — the call
 * may have been made and billed, so it is never re-sent (provider-fetch.ts: a timed-out POST is
 * `submit_outcome_unknown`). Sized generously for that reason: a timeout should mean a stuck
 * call, not a slow one. Any call is also bounded by its worker's wall clock.
 */

/** Text to speech: 20 s, plus 15 ms per character (a 1,000-character line: 35 s), at most 5 min. */
export const SPEECH_TIMEOUT = { baseMs: 20_000, perCharacterMs: 15, maxMs: 300_000 } as const;

/**
 * An LLM call: 30 s, plus 1 ms per 4 prompt characters (about a token read), plus 25 ms per
 * expected answer token — maxTokens, else 4,000 (a screenplay's size) — at most 10 min.
 */
export const COMPLETION_TIMEOUT = {
  baseMs: 30_000,
  perPromptCharacterMs: 0.25,
  perAnswerTokenMs: 25,
  defaultAnswerTokens: 4_000,
  maxMs: 600_000,
} as const;

/** How long one text-to-speech call of `characters` may take. */
export function speechTimeoutMs(characters: number): number {
  const { baseMs, perCharacterMs, maxMs } = SPEECH_TIMEOUT;
  return Math.min(maxMs, Math.ceil(baseMs + Math.max(0, characters) * perCharacterMs));
}

/** How long one LLM call with a prompt of `promptCharacters` and a `maxTokens` answer may take. */
export function completionTimeoutMs(promptCharacters: number, maxTokens?: number): number {
  const { baseMs, perPromptCharacterMs, perAnswerTokenMs, defaultAnswerTokens, maxMs } = COMPLETION_TIMEOUT;
  const answerTokens = maxTokens ?? defaultAnswerTokens;
  return Math.min(
    maxMs,
    Math.ceil(
      baseMs + Math.max(0, promptCharacters) * perPromptCharacterMs + answerTokens * perAnswerTokenMs,
    ),
  );
}
