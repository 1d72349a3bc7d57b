/**
 * What ElevenLabs' models and voice settings accept (elevenlabs.io/docs): data the adapter
 * (elevenlabs-voice.ts), the provider catalog and regenerate-asset's drafts check against.
 */
import type { VoiceSettings } from "../types.ts";

/** Characters per request (ElevenLabs' model pages). */
export const ELEVENLABS_MODELS: Record<string, { maxChars: number; stitching: boolean }> = {
  eleven_multilingual_v2: { maxChars: 10_000, stitching: true },
  eleven_flash_v2_5: { maxChars: 40_000, stitching: true },
  eleven_v3: { maxChars: 5_000, stitching: false },
};

/** The shape of an ElevenLabs voice id (premade or the account's own): letters and digits. */
export const isElevenLabsVoiceId = (voiceId: string) => /^[A-Za-z0-9]{1,64}$/.test(voiceId);

/** Documented bounds of each voice setting. */
export const VOICE_SETTING_RANGES: Record<keyof VoiceSettings, [number, number]> = {
  stability: [0, 1],
  similarityBoost: [0, 1],
  style: [0, 1],
  speed: [0.7, 1.2],
};
