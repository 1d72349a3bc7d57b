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
      // The licence columns describe the image found on the web (found_image_url): they apply only
      // while it is the current one, so a regenerated image is "generated" and re-accepting the
      // found one makes it "web_search" again.
      await tx`
        update public.location_images
           set image_url = ${asset.public_url},
               image_origin = case when found_image_url = ${asset.public_url} then 'web_search' else 'generated' end
         where id = ${ownerId}`;
    }
    return {};
  },
};
