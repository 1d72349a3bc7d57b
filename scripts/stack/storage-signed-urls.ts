/**
 * Signed URLs as Supabase Storage makes them: `/object/sign/<bucket>/<path>?token=<jwt>`, the token
 * an HS256 JWT with the project's JWT secret whose `url` is "<bucket>/<path>" and `exp` its end.
 * The path is left unencoded: supabase-js runs encodeURI over the whole URL.
 */
import { signJwt, verifyHs256Jwt } from "./jwt.ts";
import { storageErrors } from "./storage-errors.ts";

export function createUrlSigner(jwtSecret: string, now: () => number = Date.now) {
  return {
    async sign(bucket: string, name: string, expiresIn: number): Promise<string> {
      const iat = Math.floor(now() / 1000);
      const token = await signJwt({ url: `${bucket}/${name}`, iat, exp: iat + expiresIn }, jwtSecret);
      return `/object/sign/${bucket}/${name}?token=${token}`;
    },

    /** Resolves when `token` signs exactly this object and has not expired; throws Storage's answer otherwise. */
    async check(bucket: string, name: string, token: string | null): Promise<void> {
      if (!token) throw storageErrors.invalidJwt("jwt must be provided");
      let payload;
      try {
        payload = await verifyHs256Jwt(token, jwtSecret, now());
      } catch (error) {
        throw storageErrors.invalidJwt((error as Error).message);
      }
      if (payload.url !== `${bucket}/${name}`) throw storageErrors.urlSignatureMismatch();
    },
  };
}

export type UrlSigner = ReturnType<typeof createUrlSigner>;
