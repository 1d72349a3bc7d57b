import { describe, expect, it } from "vitest";
import { acceptorFor, ACCEPTORS } from "../../shared/assets/accept/acceptors.ts";
import { slotOwnerId } from "../../shared/assets/accept/asset-acceptor.ts";
import { REGENERATE_KINDS } from "../../shared/assets/asset-target.ts";

describe("the acceptors, one per kind", () => {
  it("has an acceptor for every kind start takes, filed under its own kind", () => {
    for (const kind of REGENERATE_KINDS) expect(acceptorFor(kind).kind).toBe(kind);
    expect(Object.keys(ACCEPTORS).sort()).toEqual([...REGENERATE_KINDS].sort());
  });

  it("lets only a script accept run on a film in production, and admits only a script before accepting", () => {
    const takesAnyFilm = REGENERATE_KINDS.filter((kind) => !acceptorFor(kind).needsIdleMovie);
    const admits = REGENERATE_KINDS.filter((kind) => acceptorFor(kind).admit !== undefined);
    expect(takesAnyFilm).toEqual(["script"]);
    expect(admits).toEqual(["script"]);
  });

  it("refuses a kind it does not know", () => {
    expect(() => acceptorFor("hologram")).toThrow("hologram");
  });

  it("reads the owning row's id from a slot", () => {
    expect(slotOwnerId("scene:abc:clip")).toBe("abc");
    expect(slotOwnerId("location_image:def:image")).toBe("def");
  });
});
