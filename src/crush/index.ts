// CRUSH, exactly as Ceph 16 places data: the public face of src/crush.

export { CrushFormatError, decodeCrushBinary, encodeCrushBinary, isCrushBinary } from "./binary/index.ts";
export {
  addBucket,
  type BucketSpec,
  CrushBuildError,
  emptyMap,
  makeBucket,
  makeRule,
  weightFromFloat,
} from "./builder.ts";
export { type CompareOptions, type CompareResult, compareMappings, formatComparison } from "./compare.ts";
export { type Explanation, explainMapping, formatExplanation } from "./explain.ts";
export { hash1, hash2, hash3, hash4, hash5, hashKey } from "./hash.ts";
export { crushLn } from "./ln.ts";
export { CrushMapFileError, isCrushInputError, loadCrushMapFile, parseCrushMap } from "./load.ts";
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
export { CrushTestError, type CrushTestOptions, runCrushTest, testReweights } from "./tester.ts";
export { CrushSyntaxError, compileCrushText, decompileCrushMap } from "./text/index.ts";
export { type MappingTracer, RecordingTracer, type TraceEvent } from "./trace.ts";
export { formatTree } from "./tree.ts";
export {
  isTunableProfileName,
  TUNABLE_TEXT_NAMES,
  type TunableProfileName,
  tunableProfile,
} from "./tunables.ts";
export * from "./types.ts";
