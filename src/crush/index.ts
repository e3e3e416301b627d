// CRUSH, exactly as Ceph 16 places data: the public face of src/crush (core.ts is its pure part).

export { CrushFormatError, decodeCrushBinary, encodeCrushBinary, isCrushBinary } from "./binary/index.ts";
export { type CompareOptions, type CompareResult, compareMappings, formatComparison } from "./compare.ts";
export * from "./core.ts";
export { type Explanation, explainMapping, formatExplanation } from "./explain.ts";
export { crushLn } from "./ln.ts";
export { CrushMapFileError, isCrushInputError, loadCrushMapFile, parseCrushMap } from "./load.ts";
export { CrushTestError, type CrushTestOptions, runCrushTest, testReweights } from "./tester.ts";
export { CrushSyntaxError, compileCrushText, decompileCrushMap } from "./text/index.ts";
export { type MappingTracer, RecordingTracer, type TraceEvent } from "./trace.ts";
export { formatTree } from "./tree.ts";
