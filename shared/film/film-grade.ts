/**
 * The film's one colour grade, derived from its visual bible so that clips made by different
 * generations (each with its own white balance and tint) look like one film. Pure and
 * deterministic: the same bible always gives the same grade, so a re-render matches.
 *
 * - target: the palette's mean colour (sRGB channels averaged), with its HSL saturation halved —
 *   a palette holds accents, and the film should be tinted by it, not painted in it.
 * - contrast and saturation: 1, nudged by the mood words of the bible's tone, style and lighting
 *   (MOOD below): each group found moves its value once, so the grade stays gentle.
 * - strength: each clip moves GRADE_STRENGTH of the way from its own mean chroma to the target's.
 */
import type { VisualBible } from "../providers/film-schemas.ts";
import type { TimelineGrade } from "../providers/types.ts";

export const GRADE_STRENGTH = 0.6;
const TARGET_SATURATION = 0.5;

const MOOD: { words: RegExp; contrast?: number; saturation?: number }[] = [
  {
    words: /\b(tense|uneasy|dark|noir|gritty|dramatic|stark|hard|harsh|deep shadows|menacing|determined)\b/,
    contrast: 0.06,
  },
  { words: /\b(soft|dreamy|hazy|gentle|wistful|nostalgic|calm|tender|misty)\b/, contrast: -0.06 },
  { words: /\b(vibrant|hopeful|joyful|playful|amused|bright|lively|vivid|golden)\b/, saturation: 0.1 },
  {
    words: /\b(bleak|melancholic|melancholy|muted|somber|sombre|desaturated|grim|cold|faded|sad)\b/,
    saturation: -0.1,
  },
];

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** The grade for a film with this bible. */
export function gradeFromBible(
  bible: Pick<VisualBible, "color_palette" | "emotional_tone" | "visual_style" | "lighting">,
): TimelineGrade {
  const rgb = bible.color_palette.map(hexToRgb);
  const mean = [0, 1, 2].map((c) => rgb.reduce((sum, color) => sum + color[c], 0) / rgb.length);
  const [h, s, l] = rgbToHsl(mean as Rgb);
  const text = `${bible.emotional_tone} ${bible.visual_style} ${bible.lighting}`.toLowerCase();
  let contrast = 1;
  let saturation = 1;
  for (const mood of MOOD) {
    if (!mood.words.test(text)) continue;
    contrast += mood.contrast ?? 0;
    saturation += mood.saturation ?? 0;
  }
  return {
    target: rgbToHex(hslToRgb([h, s * TARGET_SATURATION, l])),
    strength: GRADE_STRENGTH,
    contrast: round3(contrast),
    saturation: round3(saturation),
  };
}

type Rgb = [number, number, number];

const hexToRgb = (hex: string): Rgb => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;

const rgbToHex = (rgb: Rgb) =>
  `#${rgb.map((c) => Math.round(Math.min(255, Math.max(0, c))).toString(16).padStart(2, "0")).join("")}`;

// HSL with h in [0, 1): the textbook conversion over 0–255 channels.
function rgbToHsl([r, g, b]: Rgb): Rgb {
  const [rn, gn, bn] = [r / 255, g / 255, b / 255];
  const max = Math.max(rn, gn, bn);
  const min = Math.min(rn, gn, bn);
  const l = (max + min) / 2;
  const d = max - min;
  if (d === 0) return [0, 0, l];
  const s = d / (1 - Math.abs(2 * l - 1));
  const h = max === rn ? ((gn - bn) / d + 6) % 6 : max === gn ? (bn - rn) / d + 2 : (rn - gn) / d + 4;
  return [h / 6, s, l];
}

function hslToRgb([h, s, l]: Rgb): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h * 6) % 2) - 1));
  const m = l - c / 2;
  const sector = Math.floor(h * 6) % 6;
  const [r, g, b] = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]][sector];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}
