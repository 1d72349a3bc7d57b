/**
 * What kind of network an address belongs to, for deciding whether the server may connect to it on
 * a caller's behalf. Only `public` is reachable by default; `private` (loopback, RFC 1918, unique
 * local, CGNAT) only where an operator says the network is trusted; the rest never.
 */
import type { IpAddress } from "./ip-literal.ts";

export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "cgnat"
  | "link_local"
  | "metadata"
  | "multicast"
  | "unspecified"
  | "broadcast"
  | "reserved";

/** Classes an operator may open up with "allow private targets" (a trusted network). */
export const PRIVATE_CLASSES: ReadonlySet<AddressClass> = new Set(["loopback", "private", "cgnat"]);

type Range = [prefix: number[], bits: number, cls: AddressClass];

// Most specific first: the first match wins.
const IPV4: Range[] = [
  [[169, 254, 169, 254], 32, "metadata"], // AWS, GCP, Azure, OpenStack
  [[100, 100, 100, 200], 32, "metadata"], // Alibaba Cloud
  [[255, 255, 255, 255], 32, "broadcast"],
  [[0], 8, "reserved"], // "this network"; 0.0.0.0 itself below
  [[10], 8, "private"],
  [[100, 64], 10, "cgnat"],
  [[127], 8, "loopback"],
  [[169, 254], 16, "link_local"],
  [[172, 16], 12, "private"],
  [[192, 0, 0], 24, "reserved"], // IETF protocol assignments
  [[192, 0, 2], 24, "reserved"], // documentation
  [[192, 88, 99], 24, "reserved"], // 6to4 relay anycast
  [[192, 168], 16, "private"],
  [[198, 18], 15, "reserved"], // benchmarking
  [[198, 51, 100], 24, "reserved"],
  [[203, 0, 113], 24, "reserved"],
  [[224], 4, "multicast"],
  [[240], 4, "reserved"],
];

const IPV6: Range[] = [
  [[0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54], 128, "metadata"], // fd00:ec2::254
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback"],
  [[0xfe, 0x80], 10, "link_local"],
  [[0xfe, 0xc0], 10, "private"], // deprecated site-local
  [[0xfc], 7, "private"], // unique local
  [[0xff], 8, "multicast"],
  [[0x20, 0x01, 0x0d, 0xb8], 32, "reserved"], // documentation
  [[0x20, 0x01, 0, 0], 32, "reserved"], // Teredo: tunnels to an address we cannot see
];

/** The class of an address; IPv6 forms that carry an IPv4 address are judged by that address. */
export function classifyAddress(address: IpAddress): AddressClass {
  const { bytes } = address;
  if (address.family === 4) {
    if (bytes.every((b) => b === 0)) return "unspecified";
    return match(IPV4, bytes) ?? "public";
  }
  if (bytes.every((b) => b === 0)) return "unspecified";
  const cls = match(IPV6, bytes);
  if (cls) return cls;
  const embedded = embeddedIpv4(bytes);
  if (embedded) return classifyAddress({ family: 4, bytes: embedded });
  // Global unicast is 2000::/3; everything else is unassigned or special.
  return (bytes[0] & 0xe0) === 0x20 ? "public" : "reserved";
}

/** The IPv4 address inside an IPv4-mapped, -compatible, NAT64 or 6to4 IPv6 address. */
function embeddedIpv4(bytes: number[]): number[] | null {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12); // ::ffff:a.b.c.d
  if (zeros(0, 12)) return bytes.slice(12); // ::a.b.c.d (deprecated "compatible")
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) {
    return bytes.slice(12); // 64:ff9b::/96
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6); // 2002:a.b.c.d::/48 (6to4)
  return null;
}

function match(ranges: Range[], bytes: number[]): AddressClass | null {
  for (const [prefix, bits, cls] of ranges) {
    if (inPrefix(bytes, prefix, bits)) return cls;
  }
  return null;
}

function inPrefix(bytes: number[], prefix: number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const i = bit / 8;
    const maskBits = Math.min(8, bits - bit);
    const mask = (0xff << (8 - maskBits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}
