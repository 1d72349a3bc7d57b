/** SCRAM-SHA-256 client side for pg-wire.ts. */
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/** SCRAM-SHA-256 (RFC 5802/7677) without channel binding, as PostgreSQL speaks it. */
export class Scram {
  #nonce = randomBytes(18).toString("base64");
  #password: string;
  #serverSignature = "";
  constructor(password: string) {
    this.#password = password;
  }
  clientFirst(): string {
    return `n,,n=*,r=${this.#nonce}`;
  }
  clientFinal(serverFirst: string): string {
    const attrs = Object.fromEntries(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)]));
    if (!attrs.r?.startsWith(this.#nonce)) throw new Error("SCRAM: the server's nonce does not extend ours");
    const salted = pbkdf2Sync(this.#password, Buffer.from(attrs.s, "base64"), Number(attrs.i), 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const withoutProof = `c=biws,r=${attrs.r}`;
    const authMessage = `n=*,r=${this.#nonce},${serverFirst},${withoutProof}`;
    const signature = createHmac("sha256", storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]));
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    this.#serverSignature = createHmac("sha256", serverKey).update(authMessage).digest("base64");
    return `${withoutProof},p=${proof.toString("base64")}`;
  }
  verifyServer(serverFinal: string): void {
    if (serverFinal.split(",").find((kv) => kv.startsWith("v="))?.slice(2) !== this.#serverSignature) {
      throw new Error("SCRAM: the server's signature does not match");
    }
  }
}
