/** Every kind's acceptor, by kind: the accept action looks the run's kind up here. */
import type { RegenerateKind } from "../asset-target.ts";
import type { AssetAcceptor } from "./asset-acceptor.ts";
import { acceptAudio } from "./accept-audio.ts";
import { acceptCover } from "./accept-cover.ts";
import { acceptImage } from "./accept-image.ts";
import { acceptMusic } from "./accept-music.ts";
import { acceptScript } from "./accept-script.ts";
import { acceptVideo } from "./accept-video.ts";

export const ACCEPTORS: Record<RegenerateKind, AssetAcceptor> = {
  video: acceptVideo,
  audio: acceptAudio,
  cover: acceptCover,
  music: acceptMusic,
  image: acceptImage,
  script: acceptScript,
};

/** The acceptor of a run's kind (asset_runs.kind is checked to be one of REGENERATE_KINDS). */
export function acceptorFor(kind: string): AssetAcceptor {
  const acceptor = ACCEPTORS[kind as RegenerateKind];
  if (!acceptor) throw new Error(`no acceptor for asset kind ${kind}`);
  return acceptor;
}
