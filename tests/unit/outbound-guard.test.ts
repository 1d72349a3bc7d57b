import { describe, expect, it } from "vitest";
import { classifyAddress } from "../../shared/net/address-class.ts";
import { checkHttpTarget } from "../../shared/net/http-target.ts";
import { formatIp, parseIpLiteral } from "../../shared/net/ip-literal.ts";
import { createOutboundGuard, HostUnresolvableError } from "../../shared/net/outbound-guard.ts";

const classOf = (literal: string) => {
  const address = parseIpLiteral(literal);
  if (!address) throw new Error(`${literal} did not parse`);
  return classifyAddress(address);
};

describe("IP literals", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["0x7f000001", "127.0.0.1"],
    ["0X7F.0.0.1", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["0177.0000.0000.0001", "127.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["127.0.1", "127.0.0.1"],
    ["10.0.0.1.", "10.0.0.1"],
    ["0", "0.0.0.0"],
    ["0xa9fea9fe", "169.254.169.254"],
    ["[::1]", "0:0:0:0:0:0:0:1"],
    ["::ffff:127.0.0.1", "0:0:0:0:0:ffff:7f00:1"],
    ["::ffff:7f00:1", "0:0:0:0:0:ffff:7f00:1"],
    ["fe80::1%eth0", "fe80:0:0:0:0:0:0:1"],
    ["fd00:ec2::254", "fd00:ec2:0:0:0:0:0:254"],
    ["2001:DB8::", "2001:db8:0:0:0:0:0:0"],
  ])("reads %s as %s", (literal, canonical) => {
    expect(formatIp(parseIpLiteral(literal)!)).toBe(canonical);
  });

  it.each([
    "db.example.com",
    "localhost",
    "256.0.0.1",
    "1.2.3.4.5",
    "0x1g",
    "08.0.0.1",
    "4294967296",
    "1::2::3",
    "::ffff:1.2.3",
    "1:2:3:4:5:6:7:8:9",
  ])(
    "does not take %s for an address",
    (text) => expect(parseIpLiteral(text)).toBeNull(),
  );
});

describe("address classes", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["2130706433", "loopback"],
    ["0x7f000001", "loopback"],
    ["0177.0.0.1", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["169.254.0.1", "link_local"],
    ["169.254.169.254", "metadata"],
    ["100.100.100.200", "metadata"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "reserved"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["192.0.2.10", "reserved"],
    ["198.18.0.1", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link_local"],
    ["febf::1", "link_local"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["fd00:ec2::254", "metadata"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "reserved"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:169.254.169.254", "metadata"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::a00:1", "private"],
    ["2002:7f00:1::", "loopback"],
    ["100::1", "reserved"],
    ["8.8.8.8", "public"],
    ["172.32.0.1", "public"],
    ["100.128.0.1", "public"],
    ["2606:4700::1111", "public"],
    ["::ffff:8.8.8.8", "public"],
  ])("%s is %s", (literal, expected) => {
    expect(classOf(literal)).toBe(expected);
  });
});

describe("the outbound guard", () => {
  const resolving = (answers: Record<string, string[]>) => async (host: string) => {
    const addresses = answers[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  const names = resolving({
    "db.example.com": ["93.184.215.14"],
    localhost: ["127.0.0.1", "::1"],
    "mixed.example.com": ["93.184.215.14", "10.1.2.3"],
  });
  const strict = createOutboundGuard({ allowPrivate: false, resolve: names });
  const trusting = createOutboundGuard({ allowPrivate: true, resolve: names });

  it("hands back the checked address of a public name, to connect to instead of resolving again", async () => {
    expect(await strict.checkHost("db.example.com", "targetUrl")).toEqual({
      hostname: "db.example.com",
      address: "93.184.215.14",
      family: 4,
    });
  });

  it("refuses a name when any of its addresses is refused, naming it", async () => {
    await expect(strict.checkHost("mixed.example.com", "targetUrl")).rejects.toMatchObject({
      code: "target_not_allowed",
      status: 400,
      message: expect.stringContaining("mixed.example.com (10.1.2.3), a private network address"),
    });
    await expect(strict.checkHost("localhost", "targetUrl")).rejects.toMatchObject({
      code: "target_not_allowed",
    });
  });

  it.each([
    "127.0.0.1",
    "[::1]",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "10.0.0.1",
    "169.254.169.254",
    "[::ffff:127.0.0.1]",
    "[fd00:ec2::254]",
  ])(
    "refuses the literal %s by default",
    async (host) => {
      await expect(strict.checkHost(host, "targetUrl")).rejects.toMatchObject({
        code: "target_not_allowed",
        status: 400,
      });
    },
  );

  it("allows loopback and private networks only when the operator trusts the network, never metadata or link-local", async () => {
    expect((await trusting.checkHost("localhost", "targetUrl")).address).toBe("127.0.0.1");
    expect((await trusting.checkHost("0x0a000001", "targetUrl")).address).toBe("10.0.0.1");
    await expect(trusting.checkHost("169.254.169.254", "targetUrl")).rejects.toMatchObject({
      message: expect.stringContaining("metadata"),
    });
    await expect(trusting.checkHost("[fe80::1]", "targetUrl")).rejects.toMatchObject({
      code: "target_not_allowed",
    });
    await expect(trusting.checkHost("0.0.0.0", "targetUrl")).rejects.toMatchObject({
      code: "target_not_allowed",
    });
  });

  it("tells a name that does not resolve from a refused one, and refuses what is no host name at all", async () => {
    await expect(strict.checkHost("nowhere.example.com", "targetUrl")).rejects.toBeInstanceOf(
      HostUnresolvableError,
    );
    await expect(strict.checkHost("127.0.0.1,db.example.com", "targetUrl")).rejects.toMatchObject({
      code: "target_not_allowed",
    });
  });

  it("takes https URLs on their default port only, without credentials; http and other ports on a trusted network", async () => {
    await expect(checkHttpTarget("https://db.example.com/x", strict, "targetStorage.url")).resolves
      .toMatchObject({ address: "93.184.215.14" });
    for (
      const url of [
        "http://db.example.com",
        "https://db.example.com:8443",
        "https://u:p@db.example.com",
        "ftp://db.example.com",
        "https://2130706433/",
        "https://[::1]/",
      ]
    ) {
      await expect(checkHttpTarget(url, strict, "targetStorage.url"), url).rejects.toMatchObject({
        code: "target_not_allowed",
      });
    }
    await expect(checkHttpTarget("http://localhost:56321", trusting, "targetStorage.url")).resolves
      .toMatchObject({ address: "127.0.0.1" });
  });
});
