/**
 * `npm run demo -- [options]`: what the demo film is and where its report goes. A bad option is
 * an error naming it, before anything starts.
 */
export interface DemoOptions {
  title: string;
  prompt: string;
  genre: string;
  /** The film's length (produce-movie durationMinutes); its scenes and shots follow from it. */
  minutes: number;
  orientation: "landscape" | "portrait";
  chaos: boolean;
  /** Directory of the report (index.html, media/). */
  out: string | null;
  /** Gives up waiting after this many seconds (the film keeps its state; `resume` continues it). */
  timeoutSeconds: number;
}

/** Short enough that the default demo film is made in well under 5 minutes on a 2-core machine. */
export const DEFAULT_MINUTES = 1;

/** The longest film produce-movie takes (durationMinutes). */
export const MAX_MINUTES = 30;

export const DEFAULT_OPTIONS: DemoOptions = {
  title: "The Last Lighthouse",
  prompt:
    "An old lighthouse keeper and a young radio operator race a storm to relight the beacon before a lost fishing boat reaches the rocks",
  genre: "adventure",
  minutes: DEFAULT_MINUTES,
  orientation: "landscape",
  chaos: false,
  out: null,
  timeoutSeconds: 900,
};

export const USAGE =
  `usage: npm run demo -- [--prompt "..."] [--title "..."] [--genre drama] [--minutes ${DEFAULT_MINUTES}]
                       [--orientation landscape|portrait] [--chaos] [--out DIR] [--timeout SECONDS]`;

export class DemoUsageError extends Error {}

export function parseDemoArgs(args: string[]): DemoOptions {
  const options = { ...DEFAULT_OPTIONS };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) {
        throw new DemoUsageError(`${flag} needs a value`);
      }
      return v;
    };
    switch (flag) {
      case "--prompt":
        options.prompt = nonEmpty(flag, value(), 2000);
        break;
      case "--title":
        options.title = nonEmpty(flag, value(), 200);
        break;
      case "--genre":
        options.genre = nonEmpty(flag, value(), 50);
        break;
      case "--minutes":
        options.minutes = minutes(flag, value());
        break;
      case "--scenes":
        // The film's length decides its scenes (shared/providers/film-schemas.ts sceneCountFor).
        throw new DemoUsageError("--scenes is gone: a film's length decides its scenes; ask for --minutes N");
      case "--timeout":
        options.timeoutSeconds = wholeNumber(flag, value(), 30, 86_400);
        break;
      case "--out":
        options.out = nonEmpty(flag, value(), 1000);
        break;
      case "--orientation": {
        const v = value();
        if (v !== "landscape" && v !== "portrait") {
          throw new DemoUsageError(`--orientation must be landscape or portrait, not "${v}"`);
        }
        options.orientation = v;
        break;
      }
      case "--chaos":
        options.chaos = true;
        break;
      default:
        throw new DemoUsageError(`unknown option ${arg}`);
    }
  }
  return options;
}

function nonEmpty(flag: string, value: string, max: number): string {
  const v = value.trim();
  if (!v) throw new DemoUsageError(`${flag} must not be empty`);
  if (v.length > max) throw new DemoUsageError(`${flag} must be at most ${max} characters`);
  return v;
}

/** Minutes of film, as produce-movie takes them: hundredths from 0.01 to MAX_MINUTES (0.5 is half a minute). */
function minutes(flag: string, value: string): number {
  const n = Number(value);
  if (
    value.trim() === "" || !Number.isFinite(n) || n < 0.01 || n > MAX_MINUTES || Number(n.toFixed(2)) !== n
  ) {
    throw new DemoUsageError(
      `${flag} must be a number of minutes from 0.01 to ${MAX_MINUTES} in hundredths, not "${value}"`,
    );
  }
  return n;
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new DemoUsageError(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return n;
}
