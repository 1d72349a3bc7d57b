/**
 * Offline audio: speech with espeak-ng (a voice per voiceId) and background music synthesized by
 * FFmpeg (four chords, plucked, exactly the requested number of samples). Both end up as MP3,
 * the format the hosted providers answer with.
 */
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { hashText } from "../seeded-random.ts";
import { runProcess } from "./run-process.ts";

export const SAMPLE_RATE = 44100;
const ESPEAK_VARIANTS = ["m1", "m3", "m5", "f1", "f2", "f4"];
/** espeak-ng's own voice names (e.g. `es+f2`) are used as given; any other id picks a variant. */
const ESPEAK_VOICE = /^[a-z]{2,3}(-[a-z0-9]+)?(\+[a-z0-9]+)?$/;

function espeakVoice(voiceId: string): { voice: string; pitch: number } {
  const hash = hashText(voiceId);
  if (ESPEAK_VOICE.test(voiceId)) return { voice: voiceId, pitch: 50 };
  return { voice: `en+${ESPEAK_VARIANTS[hash % ESPEAK_VARIANTS.length]}`, pitch: 35 + (hash >>> 8) % 30 };
}

/** Speaks the text to `<workDir>/voice.mp3`; the duration is the WAV's, counted in samples. */
export async function speakText(
  options: { voiceId: string; text: string; workDir: string; signal: AbortSignal },
) {
  const { voiceId, text, workDir, signal } = options;
  const textFile = join(workDir, "line.txt");
  const wav = join(workDir, "voice.wav");
  const mp3 = join(workDir, "voice.mp3");
  await writeFile(textFile, text);
  const { voice, pitch } = espeakVoice(voiceId);
  await runProcess(
    "espeak-ng",
    ["-v", voice, "-p", String(pitch), "-s", "155", "-f", textFile, "-w", wav],
    signal,
  );
  await runProcess("ffmpeg", [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-i",
    wav,
    "-ar",
    String(SAMPLE_RATE),
    "-ac",
    "1",
    "-c:a",
    "libmp3lame",
    "-b:a",
    "96k",
    mp3,
  ], signal);
  return mp3;
}

// Chord roots and thirds (Hz) of a few common progressions; the prompt picks one.
const PROGRESSIONS = [
  [[220.0, 261.63, 329.63], [174.61, 220.0, 261.63], [261.63, 329.63, 392.0], [196.0, 246.94, 293.66]],
  [[196.0, 246.94, 293.66], [164.81, 196.0, 246.94], [130.81, 164.81, 196.0], [146.83, 174.61, 220.0]],
  [[146.83, 174.61, 220.0], [233.08, 293.66, 349.23], [174.61, 220.0, 261.63], [220.0, 277.18, 329.63]],
];

/** The sum of the chord's sines for chord slot k of the bar, as an aevalsrc expression. */
function chordExpression(progression: number[][], chordSeconds: number): string {
  const slot = `mod(floor(t/${chordSeconds}),${progression.length})`;
  const tone = (i: number) =>
    progression.reduceRight(
      (rest, chord, k) => `if(eq(${slot},${k}),${chord[i]},${rest})`,
      String(progression[0][i]),
    );
  const envelope = `(0.35+0.65*exp(-2.5*mod(t,${chordSeconds})))`;
  return `0.12*${envelope}*(${[0, 1, 2].map((i) => `sin(2*PI*t*${tone(i)})`).join("+")})`;
}

/** Music to `<workDir>/music.mp3`, exactly durationSeconds × 44.1 kHz samples before encoding. */
export async function synthMusic(
  options: { prompt: string; durationSeconds: number; workDir: string; signal: AbortSignal },
) {
  const { prompt, durationSeconds, workDir, signal } = options;
  const file = join(workDir, "music.mp3");
  const progression = PROGRESSIONS[hashText(prompt) % PROGRESSIONS.length];
  const samples = Math.round(durationSeconds * SAMPLE_RATE);
  const fade = Math.min(1, durationSeconds / 4);
  await runProcess("ffmpeg", [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `aevalsrc='${chordExpression(progression, 2)}':s=${SAMPLE_RATE}:c=stereo:d=${durationSeconds + 1}`,
    "-af",
    `atrim=end_sample=${samples},afade=t=in:d=${fade},afade=t=out:st=${durationSeconds - fade}:d=${fade}`,
    "-c:a",
    "libmp3lame",
    "-b:a",
    "128k",
    file,
  ], signal);
  return file;
}

/** Lip sync offline: the clip's video untouched (-c:v copy) with the voice laid under it, padded or cut to the clip. */
export async function muxVoiceOntoClip(
  options: {
    videoFile: string;
    audioFile: string;
    durationSeconds: number;
    workDir: string;
    signal: AbortSignal;
  },
) {
  const { videoFile, audioFile, durationSeconds, workDir, signal } = options;
  const file = join(workDir, "lipsync.mp4");
  await runProcess("ffmpeg", [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-i",
    videoFile,
    "-i",
    audioFile,
    "-map",
    "0:v:0",
    "-map",
    "1:a:0",
    "-c:v",
    "copy",
    "-af",
    "apad",
    "-c:a",
    "aac",
    "-b:a",
    "128k",
    "-t",
    durationSeconds.toFixed(6),
    "-movflags",
    "+faststart",
    file,
  ], signal);
  return file;
}
