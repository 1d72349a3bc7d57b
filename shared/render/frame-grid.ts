/**
 * Timeline positions are frames on a fixed fps grid; audio positions are derived from them in
 * whole samples at 48 kHz, so a dialogue line lands on the same instant in every render and
 * audio never drifts from picture.
 */
export const SAMPLE_RATE = 48_000;

/** FFmpeg's rational for an fps: integers as is, NTSC rates (23.976, 29.97, 59.94) as n*1000/1001. */
export function fpsRational(fps: number): string {
  if (Number.isInteger(fps)) return `${fps}/1`;
  const ntsc = Math.round(fps * 1.001);
  if (Math.abs((ntsc * 1000) / 1001 - fps) < 1e-3) return `${ntsc * 1000}/1001`;
  return `${Math.round(fps * 1000)}/1000`;
}

/** The exact fps of the grid as a number (29.97 becomes 30000/1001). */
export function gridFps(fps: number): number {
  const [num, den] = fpsRational(fps).split("/").map(Number);
  return num / den;
}

export const framesToSeconds = (frames: number, fps: number) => frames / gridFps(fps);

export const framesToSamples = (frames: number, fps: number) =>
  Math.round((frames * SAMPLE_RATE) / gridFps(fps));

/** Seconds printed for a filter option: enough digits for sample accuracy, no exponent. */
export const secondsArg = (seconds: number) => seconds.toFixed(6);
