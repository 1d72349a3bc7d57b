/**
 * IP address literals as resolvers read them, so a check cannot be slipped past with a spelling
 * the check does not know: IPv4 in inet_aton's forms (1–4 parts, each decimal, 0x-hex or 0-octal:
 * 2130706433, 0x7f000001, 0177.0.0.1, 127.1 all mean 127.0.0.1), IPv6 with `::`, an embedded
 * dotted IPv4 tail, brackets and a zone id.
 */

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export interface IpAddress {
  family: 4 | 6;
  bytes: number[];
}

/** The address a literal host names, or null when `host` is a name to resolve. */
export function parseIpLiteral(host: string): IpAddress | null {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.includes(":")) {
    const bytes = parseIpv6(bare.replace(/%.*$/, ""));
    return bytes ? { family: 6, bytes } : null;
  }
  const bytes = parseIpv4(bare);
  return bytes ? { family: 4, bytes } : null;
}

/** inet_aton: a.b.c.d, a.b.c (c 16 bits), a.b (b 24 bits), a (32 bits); each part any base. */
export function parseIpv4(text: string): number[] | null {
  const parts = text.replace(/\.$/, "").split(".");
  if (parts.length < 1 || parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = parseInt(part, 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return null;
  const bytes = [...values];
  for (let i = 3 - values.length; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
  return bytes;
}

function parseIpv6(text: string): number[] | null {
  if (!/^[0-9a-f:.]+$/i.test(text)) return null;
  const lastColon = text.lastIndexOf(":");
  const v4 = text.slice(lastColon + 1);
  if (v4.includes(".")) {
    // Inside IPv6 only the strict dotted form is allowed; it stands for the last two groups.
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(v4)) return null;
    const b = v4.split(".").map(Number);
    if (b.some((x) => x > 255)) return null;
    text = `${text.slice(0, lastColon + 1)}${((b[0] << 8) | b[1]).toString(16)}:${
      ((b[2] << 8) | b[3]).toString(16)
    }`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if ([...left, ...right].some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right].map((g) =>
    parseInt(g, 16)
  );
  return all.flatMap((g) => [g >> 8, g & 255]);
}

/** The canonical text of an address: dotted IPv4, or full lowercase IPv6 groups joined by ":". */
export function formatIp({ family, bytes }: IpAddress): string {
  if (family === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}
