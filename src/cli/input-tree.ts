// The inputs of a local directory tree (docs/locality.md, "dsat inputs"): each file with the
// addresses of its replicas, from extended attributes (`user.dsat.replicas`, read with getfattr
// when installed: Node has no xattr API) or from `.dsat-replicas` manifests in the tree; a file
// neither names is its own one replica, `HOST:/absolute/path`.
import { spawnSync } from "node:child_process";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** The manifest file name: one `NAME REPLICA...` line per file of its directory or below. */
export const MANIFEST = ".dsat-replicas";
/** The extended attribute: the replicas, separated by spaces, tabs, newlines or commas. */
export const REPLICAS_XATTR = "user.dsat.replicas";
/** Files listed at most: a tree bigger than this is refused rather than read whole into memory. */
export const TREE_FILES_MAX = 1_000_000;

export interface TreeInput {
  /** Path relative to the tree's root, with "/" separators (what --filter and --regex test). */
  path: string;
  replicas: string[];
  /** Where the replicas came from. */
  from: "xattr" | "manifest" | "local";
}

export interface TreeListing {
  inputs: TreeInput[];
  /** Things the caller should tell the user (getfattr missing, manifest lines skipped). */
  notes: string[];
}

/** The files under `root` (or `root` itself), sorted, without manifests; symlinks are not followed. */
function walk(root: string): string[] {
  const files: string[] = [];
  const visit = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isFile()) {
      if (!path.endsWith(`${sep}${MANIFEST}`)) files.push(path);
    } else if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    }
    if (files.length > TREE_FILES_MAX)
      throw new RangeError(`more than ${TREE_FILES_MAX} files under ${root}`);
  };
  visit(root);
  return files;
}

const splitReplicas = (text: string) => text.split(/[\s,]+/).filter((address) => address !== "");

/**
 * Every manifest's entries, by absolute file path. An entry in a file's own directory's manifest
 * wins over one in an ancestor's (manifests are read root first, nearer ones overwrite).
 */
function readManifests(root: string, notes: string[]): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  const manifests: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      if (entry.isDirectory()) visit(join(dir, entry.name));
      else if (entry.isFile() && entry.name === MANIFEST) manifests.push(join(dir, entry.name));
    }
  };
  if (lstatSync(root).isDirectory()) visit(root);
  else manifests.push(join(dirname(root), MANIFEST));
  // Shallow first, so a deeper manifest's entry overwrites.
  manifests.sort((a, b) => a.split(sep).length - b.split(sep).length);
  for (const manifest of manifests) {
    let text: string;
    try {
      text = readFileSync(manifest, "utf8");
    } catch {
      continue; // the file's own directory has none
    }
    text.split("\n").forEach((raw, index) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const [name, ...replicas] = line.split(/\s+/);
      if (replicas.length === 0 || name.startsWith("/") || name.split("/").includes("..")) {
        notes.push(`${manifest}:${index + 1}: expected "RELATIVE-PATH REPLICA..." (skipped)`);
        return;
      }
      entries.set(resolve(dirname(manifest), name), replicas.flatMap(splitReplicas));
    });
  }
  return entries;
}

/** getfattr's text escapes (\ooo octal) undone. */
function unescapeOctal(text: string): string {
  return Buffer.from(
    text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    "latin1",
  ).toString("utf8");
}

/** `user.dsat.replicas` of every file under `root` that has it, or null when getfattr is missing. */
function readXattrs(root: string): Map<string, string[]> | null {
  const run = spawnSync(
    "getfattr",
    ["--recursive", "--absolute-names", "--physical", "--dump", "--match", "^user\\.dsat\\.replicas$", root],
    { encoding: "latin1", maxBuffer: 1 << 30 },
  );
  if (run.error !== undefined) return null;
  const found = new Map<string, string[]>();
  let file: string | null = null;
  for (const line of run.stdout.split("\n")) {
    if (line.startsWith("# file: ")) file = unescapeOctal(line.slice("# file: ".length));
    else if (file !== null && line.startsWith(`${REPLICAS_XATTR}=`)) {
      const value = line.slice(REPLICAS_XATTR.length + 1).replace(/^"(.*)"$/, "$1");
      found.set(file, splitReplicas(unescapeOctal(value)));
    }
  }
  return found;
}

/**
 * The inputs under `root`, sorted by path, those `keep` accepts (it gets the relative path).
 * Throws (ENOENT...) for a root that cannot be read.
 */
export function listTreeInputs(root: string, host: string, keep: (path: string) => boolean): TreeListing {
  const absolute = resolve(root);
  const notes: string[] = [];
  const files = walk(absolute);
  const manifests = readManifests(absolute, notes);
  const xattrs = readXattrs(absolute);
  if (xattrs === null)
    notes.push(`getfattr is not installed: extended attributes (${REPLICAS_XATTR}) skipped`);
  const base = lstatSync(absolute).isDirectory() ? absolute : dirname(absolute);
  const inputs: TreeInput[] = [];
  for (const file of files) {
    const path = relative(base, file).split(sep).join("/");
    if (!keep(path)) continue;
    const fromXattr = xattrs?.get(file);
    const fromManifest = manifests.get(file);
    if (fromXattr !== undefined && fromXattr.length > 0)
      inputs.push({ path, replicas: fromXattr, from: "xattr" });
    else if (fromManifest !== undefined) inputs.push({ path, replicas: fromManifest, from: "manifest" });
    else inputs.push({ path, replicas: [`${host}:${file}`], from: "local" });
  }
  return { inputs, notes };
}
