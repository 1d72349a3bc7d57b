/**
 * Answers FFmpeg gives about a file, kept by the file's bytes. What ffprobe says of a file, or
 * what signalstats measures over a stretch of it, is a function of its bytes (and of its name's
 * extension, which FFmpeg may use to guess a format), so a process that met the same bytes before
 * answers from memory. A render worker meets them again and again: the clip one job made is the
 * next job's input, and every assembly reads all of a film's clips. Each FFmpeg run costs about
 * 0.15 s of CPU before it reads a byte (Debian's FFmpeg loads some 200 libraries); reading the file
 * for its digest costs a few milliseconds. Only answers are kept: a run that failed or was stopped
 * runs again next time.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { extname } from "node:path";

const ANSWERS_KEPT = 1024;
const answers = new Map<string, unknown>();

async function bytesKey(path: string, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk);
  return `${hash.digest("hex")}${extname(path).toLowerCase()}`;
}

/**
 * `ask()`'s answer to `question` about the file at `path`, from memory when these bytes were asked
 * it before. A file that cannot be read is asked directly: FFmpeg says what is wrong with it.
 */
export async function keptByBytes<T>(
  path: string,
  question: string,
  signal: AbortSignal | undefined,
  ask: () => Promise<T>,
): Promise<T> {
  const bytes = await bytesKey(path, signal).catch(() => null);
  if (bytes === null) return ask();
  const key = `${bytes} ${question}`;
  if (answers.has(key)) {
    const known = answers.get(key) as T;
    answers.delete(key); // kept longest: the most recently used
    answers.set(key, known);
    return structuredClone(known);
  }
  const answer = await ask();
  answers.set(key, structuredClone(answer));
  if (answers.size > ANSWERS_KEPT) answers.delete(answers.keys().next().value!);
  return answer;
}
