/**
 * The audio half of a render's filter graph: the clips' own sound (or silence), dialogue placed
 * at its frames, music ducked under the dialogue, then loudness normalisation. Shared by the
 * stream-copy and re-encode paths; ends in the label [aout], exactly as long as the picture.
 */
import { framesToSamples, framesToSeconds, SAMPLE_RATE, secondsArg } from "./frame-grid.ts";

export interface PlacedTrack {
  /** The ffmpeg input index of the track's file. */
  input: number;
  startFrame: number;
  gainDb?: number;
  /** Probed length, for ducking the music under this line. */
  durationSeconds: number;
}

/** loudnorm's first-pass measurement (its print_format=json output). */
export interface LoudnessMeasurement {
  input_i: string;
  input_tp: string;
  input_lra: string;
  input_thresh: string;
  target_offset: string;
}

/** "measure": end in a printing loudnorm (pass 1); a measurement: apply it (pass 2); "off": none. */
export type LoudnessStep = "measure" | LoudnessMeasurement | "off";

export interface AudioGraphOptions {
  fps: number;
  totalFrames: number;
  /** Label of the clips' joined audio, or null for silence. */
  base: string | null;
  dialogue: PlacedTrack[];
  music: (PlacedTrack & { duckDb?: number }) | null;
  /** Speech inside the base sound (lip-synced clips): not placed, but the music ducks under it. */
  speech?: { startFrame: number; durationSeconds: number }[];
  targetLufs: number;
  loudness: LoudnessStep;
}

export const TRUE_PEAK_DB = -1.5;
export const LOUDNESS_RANGE = 11;
const DEFAULT_DUCK_DB = -12;
// Sample-count timestamps from zero: amix lines inputs up by sample, whatever their start_time was.
export const AUDIO_FORMAT =
  `aresample=${SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,asetpts=N/SR/TB`;

/** Pads or cuts a stream to exactly `samples` samples. */
export const exactLength = (samples: number) => `apad=whole_len=${samples},atrim=end_sample=${samples}`;

function placed(track: PlacedTrack, fps: number): string {
  const delay = framesToSamples(track.startFrame, fps);
  return `[${track.input}:a]${AUDIO_FORMAT},volume=${track.gainDb ?? 0}dB,adelay=delays=${delay}S:all=1`;
}

/** Music gain while any dialogue line plays; a plain volume envelope, exact and predictable. */
export function duckExpression(
  dialogue: { startFrame: number; durationSeconds: number }[],
  fps: number,
  duckDb: number,
): string {
  if (dialogue.length === 0) return "1";
  const windows = dialogue.map((d) => {
    const start = framesToSeconds(d.startFrame, fps);
    return `between(t,${secondsArg(start)},${secondsArg(start + d.durationSeconds)})`;
  });
  return `if(${windows.join("+")},${Math.pow(10, duckDb / 20).toFixed(6)},1)`;
}

export function loudnormFilter(targetLufs: number, step: LoudnessMeasurement | "measure"): string {
  const target = `loudnorm=I=${targetLufs}:TP=${TRUE_PEAK_DB}:LRA=${LOUDNESS_RANGE}`;
  if (step === "measure") return `${target}:print_format=json`;
  return `${target}:measured_I=${step.input_i}:measured_TP=${step.input_tp}:measured_LRA=${step.input_lra}` +
    `:measured_thresh=${step.input_thresh}:offset=${step.target_offset}:linear=true:print_format=json`;
}

/** Filter graph statements (to be joined with ";") ending in [aout]. */
export function buildAudioGraph(o: AudioGraphOptions): string[] {
  const samples = framesToSamples(o.totalFrames, o.fps);
  const graph: string[] = [];
  graph.push(
    o.base
      ? `[${o.base}]${AUDIO_FORMAT},${exactLength(samples)}[bed]`
      : `anullsrc=r=${SAMPLE_RATE}:cl=stereo,atrim=end_sample=${samples}[bed]`,
  );
  let mix = "bed";
  if (o.dialogue.length > 0) {
    o.dialogue.forEach((track, i) => graph.push(`${placed(track, o.fps)}[dlg${i}]`));
    const labels = o.dialogue.map((_, i) => `[dlg${i}]`).join("");
    graph.push(`[bed]${labels}amix=inputs=${o.dialogue.length + 1}:duration=first:normalize=0[voiced]`);
    mix = "voiced";
  }
  if (o.music) {
    const duck = duckExpression(
      [...o.dialogue, ...(o.speech ?? [])],
      o.fps,
      o.music.duckDb ?? DEFAULT_DUCK_DB,
    );
    graph.push(`${placed(o.music, o.fps)},volume='${duck}':eval=frame[music]`);
    // duration=first: the film ends the music, which the command loops without end (assemble-command.ts).
    graph.push(`[${mix}][music]amix=inputs=2:duration=first:normalize=0[scored]`);
    mix = "scored";
  }
  const normalise = o.loudness === "off"
    ? "anull"
    : `${loudnormFilter(o.targetLufs, o.loudness)},${AUDIO_FORMAT}`;
  graph.push(`[${mix}]${normalise},${exactLength(samples)}[aout]`);
  return graph;
}

/** Reads loudnorm's JSON block from ffmpeg's stderr. */
export function parseLoudnorm(stderr: string): LoudnessMeasurement & { output_i: string } {
  const start = stderr.lastIndexOf("{");
  const end = stderr.lastIndexOf("}");
  if (start < 0 || end < start) throw new Error("loudnorm printed no measurement");
  return JSON.parse(stderr.slice(start, end + 1));
}

/** Silence measures -inf (or near it): there is nothing to normalise. */
export const isSilent = (m: LoudnessMeasurement) =>
  !Number.isFinite(Number(m.input_i)) || Number(m.input_i) < -70;
