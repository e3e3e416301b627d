// The topology JSON Schema (topologies/topology.schema.json), checked with ajv, and ajv's errors
// turned into one sentence: the JSON path, what was expected and what was found.
//
// The schema carries an annotation keyword, "x-expected", where the structure alone would make a
// poor sentence (patterns, alternatives): it says in words what a value must be.
import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";

/** Where the schema lives (topologies' "$schema" points at it). */
export const SCHEMA_FILE = new URL("../../topologies/topology.schema.json", import.meta.url);

type Schema = Record<string, unknown>;

/** A problem a schema found: a JSON Pointer and a sentence. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/** Checks JSON against one schema; the first problem, or undefined when it conforms. */
export type SchemaCheck = (json: unknown) => SchemaProblem | undefined;

/** Ajv as dsat's schemas want it: draft 2020-12, strict, with the "x-expected" annotation. */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: false,
    verbose: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
  });
  ajv.addVocabulary(["x-expected"]);
  return ajv;
}

/**
 * A checker for the JSON Schema in `schemaFile` (compiled on first use). `preferOneOf`: report a
 * failed oneOf itself rather than its first branch's error (when its alternatives have words).
 */
export function schemaChecker(schemaFile: URL, options: { preferOneOf?: boolean } = {}): SchemaCheck {
  let validator: ValidateFunction | undefined;
  const words = new SchemaWords({});
  return (json) => {
    if (validator === undefined) {
      const ajv = newAjv();
      words.root = JSON.parse(readFileSync(schemaFile, "utf8")) as Schema;
      validator = ajv.compile(words.root);
    }
    if (validator(json)) return undefined;
    // "if" errors only say which branch failed; the branch's own error comes first.
    const errors = (validator.errors ?? []).filter((error) => error.keyword !== "if");
    const error =
      (options.preferOneOf === true ? errors.find((e) => e.keyword === "oneOf") : undefined) ?? errors[0];
    return error === undefined ? { path: "/", message: "does not match the schema" } : words.explain(error);
  };
}

/** ajv's errors as one sentence, with the schema's own words (x-expected) where it has them. */
class SchemaWords {
  constructor(public root: Schema) {}

  /** A local "$ref" ("#/$defs/name") followed, with the referring schema's own keywords on top. */
  deref(schema: Schema): Schema {
    const ref = schema.$ref;
    if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return schema;
    const defs = (this.root.$defs ?? {}) as Record<string, Schema>;
    const { $ref: _, ...own } = schema;
    return { ...this.deref(defs[ref.slice("#/$defs/".length)] ?? {}), ...own };
  }

  expected(schema: Schema): string {
    return expectedOf(this.deref(schema));
  }

  explain(error: ErrorObject): SchemaProblem {
    const parent = (error.parentSchema ?? {}) as Schema;
    const at = error.instancePath === "" ? "" : error.instancePath;
    const child = (name: string) => `${at}/${escapePointer(name)}`;
    if (error.propertyName !== undefined) {
      // A bad key (propertyNames): the inner error is about the name, reported at the key's path.
      return {
        path: child(error.propertyName),
        message: `expected a key that is ${this.expected(parent)}, found ${describe(error.propertyName)}`,
      };
    }
    switch (error.keyword) {
      case "required": {
        const missing = (error.params as { missingProperty: string }).missingProperty;
        const properties = (parent.properties ?? {}) as Record<string, Schema>;
        return {
          path: child(missing),
          message: `expected ${this.expected(properties[missing] ?? {})}, found nothing`,
        };
      }
      case "additionalProperties": {
        const extra = (error.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys((parent.properties ?? {}) as Schema);
        return {
          path: child(extra),
          message: `expected one of the keys ${known.join(", ")}, found an unknown key`,
        };
      }
      case "uniqueItems": {
        const { i, j } = error.params as { i: number; j: number };
        const items = error.data as unknown[];
        return {
          path: `${at}/${Math.max(i, j)}`,
          message: `expected each item once, found ${describe(items[Math.max(i, j)])} again`,
        };
      }
      case "not": {
        const negated = (error.schema ?? {}) as Schema;
        if (Array.isArray(negated.required) && typeof negated["x-expected"] === "string") {
          return {
            path: child(String(negated.required[0])),
            message: `expected ${negated["x-expected"]}, found both`,
          };
        }
        return {
          path: at || "/",
          message: `expected ${this.expected(parent)}, found ${describe(error.data)}`,
        };
      }
      default:
        return {
          path: at || "/",
          message: `expected ${this.expected(parent)}, found ${describe(error.data)}`,
        };
    }
  }
}

/** RFC 6901: "~" and "/" in a key. */
export function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

const ARTICLE: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "a boolean",
  object: "an object",
  array: "an array",
  null: "null",
};

/** What a schema (its $ref already followed) asks for, in words. */
function expectedOf(schema: Schema): string {
  if (typeof schema["x-expected"] === "string") return schema["x-expected"];
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.map((value) => JSON.stringify(value));
    return values.length === 1 ? values[0] : `one of ${values.join(", ")}`;
  }
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  const type = types.length === 1 ? types[0] : undefined;
  const min = schema.minimum as number | undefined;
  const max = schema.maximum as number | undefined;
  if (type === "integer" || type === "number") {
    const noun = ARTICLE[type];
    if (schema.exclusiveMinimum === 0)
      return max === undefined ? `a positive ${type}` : `a ${type} above 0 and at most ${max}`;
    if (min !== undefined && max !== undefined) return `${noun} in ${min}..${max}`;
    if (min !== undefined) return min === 1 ? `a positive ${type}` : `${noun} of at least ${min}`;
    if (max !== undefined) return `${noun} of at most ${max}`;
    return noun;
  }
  if (type === "string" && schema.minLength === 1) return "a non-empty string";
  if (type === "array" && typeof schema.minItems === "number" && schema.minItems > 0)
    return `an array of at least ${schema.minItems}`;
  if (type === "object" && schema.additionalProperties !== undefined) {
    const values = schema.additionalProperties as Schema | boolean;
    if (typeof values === "object" && values.type === "string") return "an object of strings";
    if (typeof values === "object" && values.type === "number") return "an object of numbers";
  }
  if (types.every((name) => name !== undefined && ARTICLE[name] !== undefined))
    return types.map((name) => ARTICLE[name as string]).join(" or ");
  return "a valid value";
}

/** A found value, in words: `string "3"`, `number 7`, `an object`. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) {
    const short = JSON.stringify(value);
    return value.every((item) => item === null || typeof item !== "object") && short.length <= 60
      ? `an array ${short}`
      : `an array of ${value.length}`;
  }
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * A checker for one node of the schema in `schemaFile` (a JSON Pointer: "/$defs/type/properties/
 * timeoutMs"), with the file's $defs, compiled on first use; its problems read like the file's.
 */
export function nodeChecker(schemaFile: URL, pointer: string): SchemaCheck {
  let validator: ValidateFunction | undefined;
  const words = new SchemaWords({});
  return (json) => {
    if (validator === undefined) {
      const ajv = newAjv();
      const root = JSON.parse(readFileSync(schemaFile, "utf8")) as Schema;
      let node: unknown = root;
      for (const part of pointer.split("/").slice(1))
        node = (node as Record<string, unknown> | undefined)?.[
          part.replaceAll("~1", "/").replaceAll("~0", "~")
        ];
      if (typeof node !== "object" || node === null) throw new Error(`no schema node at ${pointer}`);
      words.root = { ...(node as Schema), $defs: root.$defs };
      validator = ajv.compile(words.root);
    }
    if (validator(json)) return undefined;
    const errors = (validator.errors ?? []).filter((error) => error.keyword !== "if");
    return errors[0] === undefined
      ? { path: "/", message: "does not match the schema" }
      : words.explain(errors[0]);
  };
}

/** Checks `json` against the topology schema. */
export const schemaProblem: SchemaCheck = schemaChecker(SCHEMA_FILE);
