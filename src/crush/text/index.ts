// crushtool's text map format: compile (`crushtool -c`) and decompile (`crushtool -d`).
export { compileCrushText } from "./compile.ts";
export { decompileCrushMap } from "./decompile.ts";
export { CrushSyntaxError } from "./errors.ts";
export { formatFixedPoint, textToWeight } from "./numbers.ts";
