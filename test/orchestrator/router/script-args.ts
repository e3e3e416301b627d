// Words of a script command and how values are shown: shared by the router script harness
// (script.ts) and its effect printer (script-format.ts).

/** A command line's words; double quotes keep spaces inside a word (`payload="a b"`). */
export function words(line: string): string[] {
  const out: string[] = [];
  let current = "";
  let quoted = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "\\" && quoted && i + 1 < line.length) {
      current += char + line[++i];
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (!quoted && /\s/.test(char)) {
      if (started) out.push(current);
      current = "";
      started = false;
      continue;
    }
    current += char;
    started = true;
  }
  if (quoted) throw new Error(`unbalanced quotes in: ${line}`);
  if (started) out.push(current);
  return out;
}

/** `key=value` words as options, the others as positional words (flags among them). */
export class Args {
  readonly positional: string[] = [];
  private readonly named = new Map<string, string>();

  constructor(list: readonly string[]) {
    for (const word of list) {
      const cut = word.indexOf("=");
      if (cut > 0 && !word.startsWith('"')) this.named.set(word.slice(0, cut), word.slice(cut + 1));
      else this.positional.push(word);
    }
  }

  /** The n-th positional word; throws a readable error when it is missing. */
  at(index: number, what: string): string {
    const word = this.positional[index];
    if (word === undefined) throw new Error(`expected ${what}`);
    return word;
  }

  has(flag: string): boolean {
    return this.positional.includes(flag);
  }

  text(key: string): string | undefined {
    const value = this.named.get(key);
    return value === undefined ? undefined : unquote(value);
  }

  number(key: string): number | undefined {
    const value = this.named.get(key);
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!Number.isFinite(number)) throw new Error(`${key}: expected a number, got ${value}`);
    return number;
  }

  /** A JSON value (`payload={"a":1}`, `payload=3`), or the word as a string (`payload=hi`). */
  value(key: string): unknown {
    const value = this.named.get(key);
    return value === undefined ? undefined : jsonOrString(value);
  }

  keys(): string[] {
    return [...this.named.keys()];
  }
}

export function jsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    const value = jsonOrString(text);
    if (typeof value === "string") return value;
  }
  return text;
}

/** A value as printed: bare words stay bare, anything else is JSON (Buffers as `0x<hex>`). */
export function show(value: unknown): string {
  if (typeof value === "string") return BARE.test(value) ? value : JSON.stringify(value);
  return showJson(value);
}

/** A value as JSON, with Buffers as `0x<hex>` strings; strings always quoted. */
export function showJson(value: unknown): string {
  if (value === undefined) return "undefined";
  return JSON.stringify(value, (_key, item) => {
    if (item !== null && typeof item === "object" && item.type === "Buffer" && Array.isArray(item.data))
      return `0x${Buffer.from(item.data).toString("hex")}`;
    if (item instanceof Uint8Array) return `0x${Buffer.from(item).toString("hex")}`;
    return item;
  });
}

/** A raw frame: quoted text when it is printable UTF-8, else `0x<hex>`. */
export function showFrame(frame: Buffer): string {
  const text = frame.toString("utf8");
  if (Buffer.from(text, "utf8").equals(frame) && /^[\x20-\x7e]*$/.test(text)) return JSON.stringify(text);
  return `0x${frame.toString("hex")}`;
}

const BARE = /^[A-Za-z0-9_.:/#@,+-]+$/;
