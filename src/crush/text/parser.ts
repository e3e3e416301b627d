// The syntax of crushtool 16.2 text maps, scanned the way its Boost.Spirit grammar does:
// a PEG over the joined source (see source.ts) with single spaces skipped before every
// token. Keywords match as literal prefixes and numbers/names as greedy runs, so quirks such
// as `id-3`, `pos0` or `weight1.5` parse as they do in crushtool. Alternatives are ordered and
// a failed sequence backtracks to where it began, again as in Spirit.
//
// Grammar (Pacific):
//   map      = *(tunable | device | type) *(bucket | rule) *choose_args
//   tunable  = "tunable" name posint
//   device   = "device" posint name ["class" name]
//   type     = "type" posint name
//   bucket   = name name "{" *("id" negint ["class" name]) "alg" name
//              *("hash" (integer | "rjenkins1")) *("item" name ["weight" real] ["pos" posint]) "}"
//   rule     = "rule" [name] "{" ("id" | "ruleset") posint "type" ("replicated" | "erasure")
//              "min_size" posint "max_size" posint +step "}"
//   step     = "step" (take | set_* posint | ("choose" | "chooseleaf") ("indep" | "firstn")
//              integer "type" name | "emit")
//   take     = "take" name ["class" name]
//   choose_args = "choose_args" posint "{" *("{" "bucket_id" negint
//              ["weight_set" "[" *("[" *real "]") "]"] ["ids" "[" *integer "]"] "}") "}"
import { CrushSyntaxError } from "./errors.ts";
import type { JoinedSource } from "./source.ts";

/** A piece of source text and where it starts in the joined source. */
export interface Token {
  readonly text: string;
  readonly offset: number;
}

export interface TunableNode {
  readonly kind: "tunable";
  readonly name: Token;
  readonly value: Token;
}
export interface DeviceNode {
  readonly kind: "device";
  readonly id: Token;
  readonly name: Token;
  readonly className?: Token;
}
export interface TypeNode {
  readonly kind: "type";
  readonly id: Token;
  readonly name: Token;
}
export interface BucketIdNode {
  readonly id: Token;
  readonly className?: Token;
}
export interface BucketItemNode {
  readonly name: Token;
  readonly weight?: Token;
  readonly position?: Token;
}
export interface BucketNode {
  readonly kind: "bucket";
  readonly typeName: Token;
  readonly name: Token;
  readonly ids: readonly BucketIdNode[];
  readonly alg: Token;
  readonly hashes: readonly Token[];
  readonly items: readonly BucketItemNode[];
}
export type StepNode =
  | { readonly kind: "take"; readonly keyword: Token; readonly item: Token; readonly className?: Token }
  | { readonly kind: "set"; readonly keyword: Token; readonly value: Token }
  | {
      readonly kind: "choose";
      readonly keyword: Token;
      readonly mode: Token;
      readonly count: Token;
      readonly typeName: Token;
    }
  | { readonly kind: "emit"; readonly keyword: Token };
export interface RuleNode {
  readonly kind: "rule";
  readonly keyword: Token;
  readonly name?: Token;
  readonly id: Token;
  readonly type: Token;
  readonly minSize: Token;
  readonly maxSize: Token;
  readonly steps: readonly StepNode[];
}
export interface ChooseArgNode {
  readonly bucketId: Token;
  /** One row of weights per result position. */
  readonly weightSet?: readonly (readonly Token[])[];
  readonly ids?: readonly Token[];
}
export interface ChooseArgsNode {
  readonly kind: "choose_args";
  readonly keyword: Token;
  readonly setId: Token;
  readonly args: readonly ChooseArgNode[];
}
export type StatementNode = TunableNode | DeviceNode | TypeNode | BucketNode | RuleNode | ChooseArgsNode;

const SET_STEP_KEYWORDS = [
  "set_choose_tries",
  "set_choose_local_tries",
  "set_choose_local_fallback_tries",
  "set_chooseleaf_tries",
  "set_chooseleaf_vary_r",
  "set_chooseleaf_stable",
] as const;

function isDigit(character: string | undefined): boolean {
  return character !== undefined && character >= "0" && character <= "9";
}

function isNameCharacter(character: string | undefined): boolean {
  if (character === undefined) return false;
  return /[A-Za-z0-9_.-]/.test(character);
}

/** A backtracking scanner that remembers the furthest point any token failed to match. */
class Scanner {
  position = 0;
  private furthest = -1;
  private readonly expected: string[] = [];
  private furthestContext = "";
  private readonly contexts: string[] = [];

  constructor(
    readonly text: string,
    private readonly source: JoinedSource,
    private readonly fileName: string,
  ) {}

  skipSpaces(): void {
    while (this.text[this.position] === " ") this.position++;
  }

  atEnd(): boolean {
    this.skipSpaces();
    return this.position >= this.text.length;
  }

  /** Runs `parse` with `context` as the phrase used in error messages ("in bucket body"). */
  within<T>(context: string, parse: () => T): T {
    this.contexts.push(context);
    try {
      return parse();
    } finally {
      this.contexts.pop();
    }
  }

  /** Tries a sequence; on failure rewinds so the caller can try an alternative. */
  attempt<T>(parse: () => T | undefined): T | undefined {
    const start = this.position;
    const result = parse();
    if (result === undefined) this.position = start;
    return result;
  }

  /** While positive, failures are not recorded (alternatives that would only add noise). */
  private quietDepth = 0;

  quietly<T>(parse: () => T): T {
    this.quietDepth++;
    try {
      return parse();
    } finally {
      this.quietDepth--;
    }
  }

  fail(description: string): undefined {
    if (this.quietDepth > 0) return undefined;
    if (this.position > this.furthest) {
      this.furthest = this.position;
      this.expected.length = 0;
      this.furthestContext = this.contexts.at(-1) ?? "";
    }
    if (this.position === this.furthest && !this.expected.includes(description))
      this.expected.push(description);
    return undefined;
  }

  /** A literal, matched as a prefix like Spirit's str_p (so `pos0` is `pos` then `0`). */
  literal(word: string): Token | undefined {
    this.skipSpaces();
    if (!this.text.startsWith(word, this.position)) return this.fail(`'${word}'`);
    const token = { text: word, offset: this.position };
    this.position += word.length;
    return token;
  }

  private run(description: string, length: number): Token | undefined {
    if (length === 0) return this.fail(description);
    const token = { text: this.text.slice(this.position, this.position + length), offset: this.position };
    this.position += length;
    return token;
  }

  private digitsFrom(start: number): number {
    let end = start;
    while (isDigit(this.text[end])) end++;
    return end - start;
  }

  name(): Token | undefined {
    this.skipSpaces();
    let end = this.position;
    while (isNameCharacter(this.text[end])) end++;
    return this.run("a name", end - this.position);
  }

  nonNegativeInteger(): Token | undefined {
    this.skipSpaces();
    return this.run("a non-negative integer", this.digitsFrom(this.position));
  }

  negativeInteger(): Token | undefined {
    this.skipSpaces();
    if (this.text[this.position] !== "-") return this.fail("a negative integer");
    const digits = this.digitsFrom(this.position + 1);
    return this.run("a negative integer", digits === 0 ? 0 : digits + 1);
  }

  integer(): Token | undefined {
    this.skipSpaces();
    const sign = this.text[this.position] === "-" ? 1 : 0;
    const digits = this.digitsFrom(this.position + sign);
    return this.run("an integer", digits === 0 ? 0 : digits + sign);
  }

  /** Spirit's real_p: [+-] digits [. [digits]] | [+-] . digits, then an optional exponent. */
  real(): Token | undefined {
    this.skipSpaces();
    let end = this.position;
    if (this.text[end] === "+" || this.text[end] === "-") end++;
    const integerDigits = this.digitsFrom(end);
    end += integerDigits;
    let fractionDigits = 0;
    if (this.text[end] === ".") {
      fractionDigits = this.digitsFrom(end + 1);
      if (integerDigits > 0 || fractionDigits > 0) end += 1 + fractionDigits;
    }
    if (integerDigits === 0 && fractionDigits === 0) return this.fail("a number");
    if (this.text[end] === "e" || this.text[end] === "E") {
      let exponentEnd = end + 1;
      if (this.text[exponentEnd] === "+" || this.text[exponentEnd] === "-") exponentEnd++;
      const exponentDigits = this.digitsFrom(exponentEnd);
      // An exponent marker without digits makes the whole number fail, as in Spirit.
      if (exponentDigits === 0) return this.fail("a number");
      end = exponentEnd + exponentDigits;
    }
    return this.run("a number", end - this.position);
  }

  /** The syntax error for the furthest failure, phrased "expected ..., found '...'". */
  syntaxError(): CrushSyntaxError {
    const offset = Math.max(this.furthest, 0);
    const expected = this.expected.length > 0 ? this.expected : ["end of input"];
    const list =
      expected.length === 1
        ? expected[0]
        : `${expected.slice(0, -1).join(", ")} or ${expected[expected.length - 1]}`;
    const context = this.furthestContext === "" ? "" : ` in ${this.furthestContext}`;
    return positionedError(
      this.source,
      this.fileName,
      offset,
      `expected ${list}${context}, found ${describeAt(this.text, offset)}`,
    );
  }
}

function describeAt(text: string, offset: number): string {
  if (offset >= text.length) return "end of input";
  const end = text.indexOf(" ", offset);
  const word = text.slice(offset, end < 0 ? text.length : end);
  return `'${word.length > 40 ? `${word.slice(0, 40)}...` : word}'`;
}

/** A CrushSyntaxError at a joined-source offset. */
export function positionedError(
  source: JoinedSource,
  fileName: string,
  offset: number,
  reason: string,
  options?: ErrorOptions,
): CrushSyntaxError {
  const index = Math.min(Math.max(offset, 0), source.lines.length - 1);
  return new CrushSyntaxError(fileName, source.lines[index], source.columns[index], reason, options);
}

function parseTunable(scanner: Scanner): TunableNode | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("tunable")) return undefined;
    return scanner.within("tunable", () => {
      const name = scanner.name();
      const value = name && scanner.nonNegativeInteger();
      return name && value ? { kind: "tunable" as const, name, value } : undefined;
    });
  });
}

function parseDevice(scanner: Scanner): DeviceNode | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("device")) return undefined;
    return scanner.within("device", () => {
      const id = scanner.nonNegativeInteger();
      const name = id && scanner.name();
      if (!id || !name) return undefined;
      const className = parseOptionalClass(scanner);
      return { kind: "device" as const, id, name, ...(className ? { className } : {}) };
    });
  });
}

function parseOptionalClass(scanner: Scanner): Token | undefined {
  return scanner.attempt(() => (scanner.literal("class") ? scanner.name() : undefined));
}

function parseType(scanner: Scanner): TypeNode | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("type")) return undefined;
    return scanner.within("type", () => {
      const id = scanner.nonNegativeInteger();
      const name = id && scanner.name();
      return id && name ? { kind: "type" as const, id, name } : undefined;
    });
  });
}

function parseBucketId(scanner: Scanner): BucketIdNode | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("id")) return undefined;
    const id = scanner.negativeInteger();
    if (!id) return undefined;
    const className = parseOptionalClass(scanner);
    return { id, ...(className ? { className } : {}) };
  });
}

function parseBucketHash(scanner: Scanner): Token | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("hash")) return undefined;
    return scanner.integer() ?? scanner.literal("rjenkins1");
  });
}

function parseBucketItem(scanner: Scanner): BucketItemNode | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("item")) return undefined;
    const name = scanner.name();
    if (!name) return undefined;
    const weight = scanner.attempt(() => (scanner.literal("weight") ? scanner.real() : undefined));
    const position = scanner.attempt(() =>
      scanner.literal("pos") ? scanner.nonNegativeInteger() : undefined,
    );
    return { name, ...(weight ? { weight } : {}), ...(position ? { position } : {}) };
  });
}

function repeat<T>(parse: () => T | undefined): T[] {
  const results: T[] = [];
  for (let result = parse(); result !== undefined; result = parse()) results.push(result);
  return results;
}

/** Words that start other statements; a bucket may use them as its type, but rarely does. */
const STATEMENT_KEYWORDS: ReadonlySet<string> = new Set(["tunable", "device", "type", "rule", "choose_args"]);

function parseBucket(scanner: Scanner): BucketNode | undefined {
  return scanner.attempt(() => {
    const typeName = scanner.name();
    if (!typeName) return undefined;
    // `tunable x -1` should be reported as a bad tunable, not as a bucket missing its '{'.
    const parseHead = (): Token | undefined => {
      const name = scanner.name();
      return name && scanner.literal("{") ? name : undefined;
    };
    const name = STATEMENT_KEYWORDS.has(typeName.text) ? scanner.quietly(parseHead) : parseHead();
    if (!name) return undefined;
    return scanner.within("bucket body", () => {
      const ids = repeat(() => parseBucketId(scanner));
      const alg = scanner.attempt(() => (scanner.literal("alg") ? scanner.name() : undefined));
      if (!alg) return undefined;
      const hashes = repeat(() => parseBucketHash(scanner));
      const items = repeat(() => parseBucketItem(scanner));
      if (!scanner.literal("}")) return undefined;
      return { kind: "bucket" as const, typeName, name, ids, alg, hashes, items };
    });
  });
}

function parseStep(scanner: Scanner): StepNode | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("step")) return undefined;
    return scanner.within(
      "rule step",
      () => parseTake(scanner) ?? parseSet(scanner) ?? parseChoose(scanner) ?? parseEmit(scanner),
    );
  });
}

function parseTake(scanner: Scanner): StepNode | undefined {
  return scanner.attempt(() => {
    const keyword = scanner.literal("take");
    const item = keyword && scanner.name();
    if (!keyword || !item) return undefined;
    const className = parseOptionalClass(scanner);
    return { kind: "take" as const, keyword, item, ...(className ? { className } : {}) };
  });
}

function parseSet(scanner: Scanner): StepNode | undefined {
  for (const word of SET_STEP_KEYWORDS) {
    const step = scanner.attempt(() => {
      const keyword = scanner.literal(word);
      const value = keyword && scanner.nonNegativeInteger();
      return keyword && value ? { kind: "set" as const, keyword, value } : undefined;
    });
    if (step) return step;
  }
  return undefined;
}

function parseChoose(scanner: Scanner): StepNode | undefined {
  for (const word of ["choose", "chooseleaf"]) {
    const step = scanner.attempt(() => {
      const keyword = scanner.literal(word);
      const mode = keyword && (scanner.literal("indep") ?? scanner.literal("firstn"));
      const count = mode && scanner.integer();
      const typeKeyword = count && scanner.literal("type");
      const typeName = typeKeyword && scanner.name();
      return keyword && mode && count && typeName
        ? { kind: "choose" as const, keyword, mode, count, typeName }
        : undefined;
    });
    if (step) return step;
  }
  return undefined;
}

function parseEmit(scanner: Scanner): StepNode | undefined {
  const keyword = scanner.literal("emit");
  return keyword ? { kind: "emit", keyword } : undefined;
}

function parseRule(scanner: Scanner): RuleNode | undefined {
  return scanner.attempt(() => {
    const keyword = scanner.literal("rule");
    if (!keyword) return undefined;
    return scanner.within("rule", () => {
      const name = scanner.attempt(() => scanner.name());
      if (!scanner.literal("{")) return undefined;
      if (!(scanner.literal("id") ?? scanner.literal("ruleset"))) return undefined;
      const id = scanner.nonNegativeInteger();
      const type =
        id && scanner.literal("type") && (scanner.literal("replicated") ?? scanner.literal("erasure"));
      const minSize = type && scanner.literal("min_size") && scanner.nonNegativeInteger();
      const maxSize = minSize && scanner.literal("max_size") && scanner.nonNegativeInteger();
      if (!id || !type || !minSize || !maxSize) return undefined;
      const steps = repeat(() => parseStep(scanner));
      if (steps.length === 0 || !scanner.literal("}")) return undefined;
      return { kind: "rule" as const, keyword, ...(name ? { name } : {}), id, type, minSize, maxSize, steps };
    });
  });
}

function parseBracketed(scanner: Scanner, parseElement: () => Token | undefined): Token[] | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("[")) return undefined;
    const elements = repeat(parseElement);
    return scanner.literal("]") ? elements : undefined;
  });
}

function parseWeightSet(scanner: Scanner): Token[][] | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("weight_set") || !scanner.literal("[")) return undefined;
    const rows = repeat(() => parseBracketed(scanner, () => scanner.real()));
    return scanner.literal("]") ? rows : undefined;
  });
}

function parseChooseArg(scanner: Scanner): ChooseArgNode | undefined {
  return scanner.attempt(() => {
    if (!scanner.literal("{") || !scanner.literal("bucket_id")) return undefined;
    const bucketId = scanner.negativeInteger();
    if (!bucketId) return undefined;
    const weightSet = parseWeightSet(scanner);
    const ids = scanner.attempt(() =>
      scanner.literal("ids") ? parseBracketed(scanner, () => scanner.integer()) : undefined,
    );
    if (!scanner.literal("}")) return undefined;
    return { bucketId, ...(weightSet ? { weightSet } : {}), ...(ids ? { ids } : {}) };
  });
}

function parseChooseArgs(scanner: Scanner): ChooseArgsNode | undefined {
  return scanner.attempt(() => {
    const keyword = scanner.literal("choose_args");
    if (!keyword) return undefined;
    return scanner.within("choose_args", () => {
      const setId = scanner.nonNegativeInteger();
      if (!setId || !scanner.literal("{")) return undefined;
      const args = repeat(() => parseChooseArg(scanner));
      return scanner.literal("}") ? { kind: "choose_args" as const, keyword, setId, args } : undefined;
    });
  });
}

/** Parses the joined source into statements in file order, or throws a CrushSyntaxError. */
export function parseStatements(source: JoinedSource, fileName: string): StatementNode[] {
  const scanner = new Scanner(source.text, source, fileName);
  const statements: StatementNode[] = [];
  statements.push(...repeat(() => parseTunable(scanner) ?? parseDevice(scanner) ?? parseType(scanner)));
  statements.push(...repeat(() => parseBucket(scanner) ?? parseRule(scanner)));
  statements.push(...repeat(() => parseChooseArgs(scanner)));
  if (!scanner.atEnd()) {
    scanner.fail("end of input");
    throw scanner.syntaxError();
  }
  return statements;
}
