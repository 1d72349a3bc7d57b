import { describe, expect, it } from "vitest";
import {
  binaryPortable,
  type ColumnTypeFacts,
  copyFormat,
  majorVersion,
  type TypeFacts,
} from "../../shared/clone/copy-format.ts";

const cloned = ["public", "film"];

function type(name: string, over: Partial<TypeFacts> = {}): TypeFacts {
  return { oid: 23, schema: "pg_catalog", name, kind: "b", binaryIo: true, extension: false, ...over };
}

const column = (base: TypeFacts, over: Partial<ColumnTypeFacts> = {}): ColumnTypeFacts => ({
  domains: [],
  base,
  element: null,
  ...over,
});

const int4 = type("int4");
const mood = type("mood", { oid: 16500, schema: "film", kind: "e" });
const portable = (...columns: (ColumnTypeFacts | undefined)[]) => binaryPortable(columns, cloned);

describe("COPY binary eligibility", () => {
  it("takes built-in types, arrays of them, scalar enums and domains the clone creates", () => {
    expect(portable(
      column(int4),
      column(type("numeric", { oid: 1700 })),
      column(type("_text", { oid: 1009 }), { element: type("text", { oid: 25 }) }),
      column(mood),
      column(int4, { domains: [type("positive", { oid: 16600, schema: "public", kind: "d" })] }),
      column(type("int4range", { oid: 3904, kind: "r" })),
    )).toBe(true);
    expect(portable()).toBe(true);
  });

  it("refuses a table if any column's type is not portable", () => {
    const userArray = (element: TypeFacts) =>
      column(type(`_${element.name}`, { oid: element.oid - 1, schema: element.schema }), { element });
    const refused: [string, ColumnTypeFacts | undefined][] = [
      ["an array of enums", userArray(mood)],
      ["a user composite", column(type("pair", { oid: 16700, schema: "public", kind: "c" }))],
      ["a built-in composite (a catalog's row type)", column(type("pg_class", { oid: 83, kind: "c" }))],
      ["an extension's type", column(type("vector", { oid: 17000, schema: "public", extension: true }))],
      ["a type in pg_catalog with a user OID", column(type("late", { oid: 16384 }))],
      ["an OID alias", column(type("regclass", { oid: 2205 }))],
      [
        "an array of an OID alias",
        column(type("_regtype", { oid: 2211 }), { element: type("regtype", { oid: 2206 }) }),
      ],
      ["a type without binary I/O", column(type("aclitem", { oid: 1033, binaryIo: false }))],
      [
        "an array of one",
        column(type("_aclitem", { oid: 1034 }), { element: type("aclitem", { binaryIo: false }) }),
      ],
      ["an enum of a schema not cloned", column(type("mood", { oid: 16501, schema: "other", kind: "e" }))],
      ["an extension's enum", column({ ...mood, extension: true })],
      [
        "a domain of a schema not cloned (the target's may differ)",
        column(int4, { domains: [type("d", { oid: 16800, schema: "other", kind: "d" })] }),
      ],
      [
        "a domain over a domain not cloned",
        column(int4, {
          domains: [
            type("outer", { oid: 16801, schema: "public", kind: "d" }),
            type("inner", {
              oid: 16802,
              schema: "other",
              kind: "d",
            }),
          ],
        }),
      ],
      ["a user range type", column(type("floatrange", { oid: 16900, schema: "public", kind: "r" }))],
      ["a column the catalog read did not describe", undefined],
    ];
    for (const [what, refusedColumn] of refused) {
      expect(portable(column(int4), refusedColumn), what).toBe(false);
    }
  });

  it("copies binary only for a portable table in a job whose servers share a major version", () => {
    expect(majorVersion(150018)).toBe(15);
    expect(majorVersion(160000)).toBe(16);
    expect(copyFormat({ binaryPortable: true }, true)).toBe("binary");
    expect(copyFormat({ binaryPortable: false }, true)).toBe("text");
    expect(copyFormat({}, true)).toBe("text");
    expect(copyFormat({ binaryPortable: true }, false)).toBe("text");
    expect(copyFormat({ binaryPortable: true }, undefined)).toBe("text");
  });
});
