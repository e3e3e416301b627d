// Z85 (ZeroMQ RFC 32), the text form of CURVE keys: 32 bytes <-> 40 characters.
import { KeyFileError } from "./key-file-error.ts";

const Z85_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_VALUE = new Map([...Z85_ALPHABET].map((char, index) => [char, index]));

/** True for a 40-character Z85 string (a 32-byte CURVE key). */
export function isZ85Key(text: string): boolean {
  return text.length === 40 && [...text].every((char) => Z85_VALUE.has(char));
}

/** The 32 raw bytes of a 40-character Z85 key. */
export function z85Decode(text: string): Buffer {
  if (!isZ85Key(text)) throw new KeyFileError(`not a 40-character Z85 key: "${text.slice(0, 48)}"`);
  const out = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) {
    let value = 0;
    for (let j = 0; j < 5; j++) value = value * 85 + (Z85_VALUE.get(text[i * 5 + j]) as number);
    out.writeUInt32BE(value >>> 0, i * 4);
  }
  return out;
}

/** Z85 of a 32-byte key (40 characters). */
export function z85Encode(bytes: Buffer): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = bytes.readUInt32BE(i);
    let chunk = "";
    for (let j = 0; j < 5; j++) {
      chunk = Z85_ALPHABET[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}
