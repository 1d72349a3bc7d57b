/**
 * An accepted library image: a character portrait or a location image of the owner. A location
 * image is shared by all their films, so it replaces the picture for every future scene that uses
 * that place, time and weather; clips already made keep the frames they were made from.
 */
import { type AssetAcceptor, slotOwnerId } from "./asset-acceptor.ts";

export const acceptImage: AssetAcceptor = {
  kind: "image",
  needsIdleMovie: true,
  async accept({ tx, run, asset }) {
    const ownerId = slotOwnerId(run.slot);
    if (run.slot.startsWith("character:")) {
      await tx`update public.characters set character_image_url = ${asset.public_url} where id = ${ownerId}`;
    } else {
      await tx`update public.location_images set image_url = ${asset.public_url} where id = ${ownerId}`;
    }
    return {};
  },
};
