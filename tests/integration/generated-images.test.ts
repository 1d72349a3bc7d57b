/**
 * generated_images: one row per image, saved concurrently without loss, regenerate
 * clears a scene, the read side groups by scene with the legacy JSONB fallback, the legacy move
 * is idempotent, and only the owner reaches any of it.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser, connect, createUser, type Sql, stackEnv, type TestUser } from "../support/stack.ts";

const SAVES = 1000;
const CONNECTIONS = 16;
const PER_SCENE = 20;

let sql: Sql;
let pool: Sql;
let alice: TestUser;
let bob: TestUser;

async function newRequest(userId: string, generatedOutput: unknown = {}): Promise<string> {
  const [row] = await sql`insert into public.image_requests (user_id, generated_output) values (${userId}, ${
    sql.json(generatedOutput as never)
  }) returning id`;
  return row.id;
}

const scenesOf = (userId: string, requestId: string) =>
  asUser(
    sql,
    userId,
    async (tx) =>
      (await tx`select public.request_scenes_with_images(${requestId}) as scenes`)[0].scenes as {
        index?: number;
        title?: string;
        imageUrls: string[];
      }[],
  );

beforeAll(async () => {
  sql = connect(2);
  pool = postgres(stackEnv().DB_URL, { max: CONNECTIONS, onnotice: () => {} });
  alice = await createUser(sql);
  bob = await createUser(sql);
});

afterAll(async () => {
  await sql`delete from auth.users where id in (${alice.id}, ${bob.id})`;
  await pool.end();
  await sql.end();
});

describe("generated_images", () => {
  it(`keeps all ${SAVES} images saved at once by the owner over ${CONNECTIONS} connections, one per slot`, async () => {
    const requestId = await newRequest(alice.id);
    const queue = Array.from({ length: SAVES }, (_, i) => i);
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        await asUser(
          pool,
          alice.id,
          (tx) =>
            tx`select public.save_generated_image(${requestId}, ${1 + Math.floor(i / PER_SCENE)}, ${
              i % PER_SCENE
            }, ${`https://cdn.test/${i}.png`})`,
        );
      }
    }));
    const [counts] = await sql`
      select count(*)::int as images, count(distinct (scene_index, image_index))::int as slots
        from public.generated_images where request_id = ${requestId}`;
    expect(counts).toEqual({ images: SAVES, slots: SAVES });
    const scenes = await scenesOf(alice.id, requestId);
    expect(scenes).toHaveLength(SAVES / PER_SCENE);
    expect(scenes[0]).toEqual({
      index: 1,
      imageUrls: Array.from({ length: PER_SCENE }, (_, i) => `https://cdn.test/${i}.png`),
    });
  });

  it("saves a slot twice as one row holding the later URL", async () => {
    const requestId = await newRequest(alice.id);
    await sql`select public.save_generated_image(${requestId}, 1, 0, 'https://cdn.test/first.png')`;
    await sql`select public.save_generated_image(${requestId}, 1, 0, 'https://cdn.test/second.png')`;
    const rows = await sql`select image_url from public.generated_images where request_id = ${requestId}`;
    expect(rows.map((r) => r.image_url)).toEqual(["https://cdn.test/second.png"]);
  });

  it("regenerating a scene removes its images, legacy ones too, and leaves the other scenes alone", async () => {
    const requestId = await newRequest(alice.id, {
      scenes: [{ title: "one", imageUrls: ["https://legacy.test/1.png"] }, { title: "two" }],
    });
    await sql`select public.save_generated_image(${requestId}, 1, 0, 'https://cdn.test/1-0.png')`;
    await sql`select public.save_generated_image(${requestId}, 1, 1, 'https://cdn.test/1-1.png')`;
    await sql`select public.save_generated_image(${requestId}, 2, 0, 'https://cdn.test/2-0.png')`;
    const [{ removed }] = await asUser(
      sql,
      alice.id,
      (tx) => tx`select public.clear_scene_images(${requestId}, 1) as removed`,
    );
    expect(removed).toBe(2);
    expect(await scenesOf(alice.id, requestId)).toEqual([
      { title: "one", imageUrls: [] },
      { title: "two", imageUrls: ["https://cdn.test/2-0.png"] },
    ]);
    await sql`select public.save_generated_image(${requestId}, 1, 0, 'https://cdn.test/1-new.png')`;
    expect((await scenesOf(alice.id, requestId))[0].imageUrls).toEqual(["https://cdn.test/1-new.png"]);
  });

  it("reads table images grouped by scene and falls back to the legacy JSONB imageUrls per scene", async () => {
    const requestId = await newRequest(alice.id, {
      scenes: [{ title: "one", imageUrls: ["https://legacy.test/1a.png", "https://legacy.test/1b.png"] }, {
        title: "two",
        imageUrls: ["https://legacy.test/2.png"],
      }, { index: 5, title: "five" }],
    });
    await sql`select public.save_generated_image(${requestId}, 2, 1, 'https://cdn.test/2-1.png')`;
    await sql`select public.save_generated_image(${requestId}, 2, 0, 'https://cdn.test/2-0.png')`;
    await sql`select public.save_generated_image(${requestId}, 7, 0, 'https://cdn.test/7-0.png')`;
    expect(await scenesOf(alice.id, requestId)).toEqual([
      { title: "one", imageUrls: ["https://legacy.test/1a.png", "https://legacy.test/1b.png"] },
      { title: "two", imageUrls: ["https://cdn.test/2-0.png", "https://cdn.test/2-1.png"] },
      { index: 5, title: "five", imageUrls: [] },
      { index: 7, imageUrls: ["https://cdn.test/7-0.png"] },
    ]);
  });

  it("moves legacy JSONB images into the table once, however often it runs, without overwriting newer rows", async () => {
    const legacy = {
      scenes: [{ title: "one", imageUrls: ["https://legacy.test/1a.png", "https://legacy.test/1b.png"] }, {
        title: "two",
        imageUrls: ["https://legacy.test/2.png"],
      }],
    };
    const requestId = await newRequest(alice.id, legacy);
    await sql`select public.save_generated_image(${requestId}, 2, 0, 'https://cdn.test/2-0.png')`;
    const before = await scenesOf(alice.id, requestId);
    const [{ moved }] = await asUser(
      sql,
      alice.id,
      (tx) => tx`select public.migrate_legacy_images(${requestId}) as moved`,
    );
    expect(moved).toBe(2);
    const [{ again }] = await sql`select public.migrate_legacy_images(${requestId}) as again`;
    expect(again).toBe(0);
    const rows =
      await sql`select scene_index, image_index, image_url from public.generated_images where request_id = ${requestId} order by 1, 2`;
    expect(rows.map((r) => [r.scene_index, r.image_index, r.image_url])).toEqual([
      [1, 0, "https://legacy.test/1a.png"],
      [1, 1, "https://legacy.test/1b.png"],
      [2, 0, "https://cdn.test/2-0.png"],
    ]);
    expect(await scenesOf(alice.id, requestId)).toEqual(before);
    const [{ generated_output }] =
      await sql`select generated_output from public.image_requests where id = ${requestId}`;
    expect(generated_output).toEqual(legacy);
  });

  it("lets only the owner read, save, clear or move a request's images", async () => {
    const requestId = await newRequest(alice.id);
    await sql`select public.save_generated_image(${requestId}, 1, 0, 'https://cdn.test/mine.png')`;
    expect(
      await asUser(
        sql,
        bob.id,
        (tx) => tx`select id from public.generated_images where request_id = ${requestId}`,
      ),
    ).toHaveLength(0);
    expect(
      await asUser(sql, bob.id, (tx) => tx`select id from public.image_requests where id = ${requestId}`),
    ).toHaveLength(0);
    for (
      const call of [
        (tx: postgres.TransactionSql) =>
          tx`select public.save_generated_image(${requestId}, 1, 0, 'https://cdn.test/theirs.png')`,
        (tx: postgres.TransactionSql) => tx`select public.clear_scene_images(${requestId}, 1)`,
        (tx: postgres.TransactionSql) => tx`select public.request_scenes_with_images(${requestId})`,
        (tx: postgres.TransactionSql) => tx`select public.migrate_legacy_images(${requestId})`,
      ]
    ) {
      await expect(asUser(sql, bob.id, call)).rejects.toMatchObject({ code: "P0002" });
    }
    await expect(asUser(sql, bob.id, (tx) => tx`select public.migrate_legacy_images()`)).rejects
      .toMatchObject({ code: "22023" });
    await expect(asUser(sql, alice.id, (tx) =>
      tx`
      insert into public.generated_images (request_id, user_id, scene_index, image_url) values (${requestId}, ${alice.id}, 2, 'https://cdn.test/direct.png')`))
      .rejects.toMatchObject({ code: "42501" });
    const rows = await sql`select image_url from public.generated_images where request_id = ${requestId}`;
    expect(rows.map((r) => r.image_url)).toEqual(["https://cdn.test/mine.png"]);
  });

  it("refuses bad input naming the field, and changes nothing", async () => {
    const requestId = await newRequest(alice.id);
    const cases: [number | null, number | null, string | null, RegExp][] = [
      [-1, 0, "https://cdn.test/x.png", /scene_index/],
      [1, -2, "https://cdn.test/x.png", /image_index/],
      [1, 0, "javascript:alert(1)", /image_url/],
      [null, 0, "https://cdn.test/x.png", /scene_index/],
    ];
    for (const [scene, image, url, message] of cases) {
      await expect(
        asUser(
          sql,
          alice.id,
          (tx) => tx`select public.save_generated_image(${requestId}, ${scene}, ${image}, ${url})`,
        ),
      )
        .rejects.toMatchObject({ code: "22023", message: expect.stringMatching(message) });
    }
    await expect(
      asUser(
        sql,
        alice.id,
        (tx) => tx`select public.save_generated_image(${null}, 1, 0, 'https://cdn.test/x.png')`,
      ),
    )
      .rejects.toMatchObject({ code: "22023", message: expect.stringMatching(/request_id/) });
    expect(await sql`select id from public.generated_images where request_id = ${requestId}`).toHaveLength(0);
  });
});
