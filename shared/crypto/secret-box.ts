/**
 * Encrypts short secrets (clone target URLs, provider keys) for storage in the database:
 * AES-256-GCM with a fresh 96-bit IV per value, the key derived from a function secret.
 */
export interface SealedSecret {
  v: 1;
  iv: string;
  data: string;
}

export interface SecretBox {
  seal(plain: string): Promise<SealedSecret>;
  open(sealed: SealedSecret): Promise<string>;
}

const encoder = new TextEncoder();

export function createSecretBox(keyMaterial: string): SecretBox {
  if (keyMaterial.length < 32) throw new Error("encryption key must be at least 32 characters");
  // SHA-256 of the secret gives a uniform 256-bit key whatever the secret's alphabet.
  const key = crypto.subtle.digest("SHA-256", encoder.encode(keyMaterial)).then((digest) =>
    crypto.subtle.importKey("raw", digest, "AES-GCM", false, ["encrypt", "decrypt"])
  );
  return {
    async seal(plain) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key, encoder.encode(plain));
      return { v: 1, iv: toBase64(iv), data: toBase64(new Uint8Array(data)) };
    },
    async open(sealed) {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(sealed.iv) },
        await key,
        fromBase64(sealed.data),
      );
      return new TextDecoder().decode(plain);
    },
  };
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}
