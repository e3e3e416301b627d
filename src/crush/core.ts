// The pure core of CRUSH (no files, no tools): hashing, maps and their builder, rules, the
// mapper. What the orchestrator's router places with; index.ts adds loading, text, tests.
export {
  addBucket,
  type BucketSpec,
  CrushBuildError,
  emptyMap,
  makeBucket,
  makeRule,
  weightFromFloat,
} from "./builder.ts";
export { hash1, hash2, hash3, hash4, hash5, hashKey } from "./hash.ts";
export { defaultChooseArgs, defaultReweights, Mapper } from "./mapper.ts";
export {
  describeStep,
  RuleBuilder,
  type RuleSpec,
  RuleSpecError,
  type RuleStepSpec,
  resolveRule,
  rule,
  type SetStepName,
} from "./rule-builder.ts";
export {
  isTunableProfileName,
  TUNABLE_TEXT_NAMES,
  type TunableProfileName,
  tunableProfile,
} from "./tunables.ts";
export * from "./types.ts";
