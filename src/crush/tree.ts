// `crushtool --tree`: the hierarchy as a table (ID, CLASS, WEIGHT, one column per choose_args
// weight set, TYPE NAME), in crushtool's exact layout. A bucket's weight is the one its parent
// stores for it (roots: their own sum).
import type { ChooseArgSet, CrushMap } from "./types.ts";

interface TreeRow {
  id: number;
  /** The bucket listing this row (0 for a root). */
  parent: number;
  deviceClass: string;
  weight: number;
  label: string;
}

/** The roots: buckets no other bucket lists (device-class shadow roots included), by id. */
export function findRoots(map: CrushMap): number[] {
  const referenced = new Set<number>();
  for (const bucket of map.buckets)
    if (bucket !== undefined) for (const item of bucket.items) referenced.add(item);
  const roots: number[] = [];
  for (const bucket of map.buckets) {
    if (bucket !== undefined && !referenced.has(bucket.id)) roots.push(bucket.id);
  }
  return roots.sort((a, b) => a - b);
}

/**
 * crushtool lists a bucket's children by device class first (buckets have none), then by
 * name, where devices show as osd.N and two devices compare by id. Found by experiment.
 */
function childOrder(map: CrushMap, items: Int32Array): number[] {
  const indices = Array.from(items.keys());
  const classOf = (id: number) => (id >= 0 ? (map.deviceClasses.get(id) ?? "") : "");
  const nameOf = (id: number) => (id >= 0 ? `osd.${id}` : (map.itemNames.get(id) ?? ""));
  return indices.sort((a, b) => {
    const itemA = items[a];
    const itemB = items[b];
    const classA = classOf(itemA);
    const classB = classOf(itemB);
    if (classA !== classB) return classA < classB ? -1 : 1;
    if (itemA >= 0 && itemB >= 0) return itemA - itemB;
    const nameA = nameOf(itemA);
    const nameB = nameOf(itemB);
    return nameA === nameB ? 0 : nameA < nameB ? -1 : 1;
  });
}

/** Rows of the tree, depth first, children in crushtool's order. */
export function treeRows(map: CrushMap): TreeRow[] {
  const rows: TreeRow[] = [];
  const visit = (id: number, parent: number, weight: number, depth: number, seen: Set<number>): void => {
    const indent = "    ".repeat(depth);
    if (id >= 0) {
      const deviceClass = map.deviceClasses.get(id) ?? "";
      rows.push({ id, parent, deviceClass, weight, label: `${indent}osd.${id}` });
      return;
    }
    const name = map.itemNames.get(id) ?? `bucket${id}`;
    const bucket = map.buckets[-1 - id];
    if (bucket === undefined || seen.has(id)) return;
    const type = map.typeNames.get(bucket.type) ?? String(bucket.type);
    // Shadow buckets (per device class, named "host~hdd") show their class.
    const shadowClass = name.includes("~") ? name.slice(name.lastIndexOf("~") + 1) : "";
    rows.push({ id, parent, deviceClass: shadowClass, weight, label: `${indent}${type} ${name}` });
    seen.add(id);
    for (const index of childOrder(map, bucket.items)) {
      visit(bucket.items[index], id, bucket.itemWeights[index], depth + 1, seen);
    }
    seen.delete(id);
  };
  for (const root of findRoots(map)) visit(root, 0, map.buckets[-1 - root]?.weight ?? 0, 0, new Set());
  return rows;
}

/** crushtool --tree output. */
export function formatTree(map: CrushMap): string {
  // Weight sets in id order (-1, the default set, first), as Ceph's std::map keeps them.
  const sets = [...(map.chooseArgs ?? new Map())].sort(([a], [b]) => a - b);
  const header = [
    "ID",
    "CLASS",
    "WEIGHT",
    ...sets.map(([id]) => (id === -1 ? "(compat)" : String(id))),
    "TYPE NAME",
  ];
  const cells = treeRows(map).map((row) => [
    String(row.id),
    row.deviceClass,
    formatWeight(row.weight),
    ...sets.map(([, set]) => weightSetCell(map, set, row)),
    row.label,
  ]);
  const last = header.length - 1;
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => cell[column].length)),
  );
  const lines = [header.map((title, column) => title.padEnd(widths[column])).join("  ")];
  for (const cell of cells) {
    // Every column but the last is right-aligned; headings are left-aligned.
    lines.push(
      cell
        .map((text, column) => (column < last ? text.padStart(widths[column]) : text.padEnd(widths[column])))
        .join("  "),
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A row's weight in its parent's weight set (position 0), or "" when the parent has none there.
 * (crushtool reads past the set for an item its parent does not list; that cannot happen here.)
 */
function weightSetCell(map: CrushMap, set: ChooseArgSet, row: TreeRow): string {
  if (row.parent >= 0) return "";
  const weights = set.get(row.parent)?.weightSet?.[0];
  const parent = map.buckets[-1 - row.parent];
  if (weights === undefined || parent === undefined) return "";
  const position = parent.items.indexOf(row.id);
  return position < 0 || position >= weights.length ? "" : formatWeight(weights[position]);
}

/**
 * A 16.16 weight as crushtool prints it: the float value with 5 decimals (printf rounding, i.e.
 * half to even on exact ties), and "0" for zero.
 */
export function formatWeight(weight: number): string {
  const asFloat = Math.fround(weight);
  if (asFloat / 0x10000 < 0.000001) return "0";
  // asFloat is an integer, so asFloat * 100000 / 65536 is exact in integers: round it by hand.
  const scaled = asFloat * 100000;
  let quotient = Math.floor(scaled / 0x10000);
  const remainder = scaled - quotient * 0x10000;
  if (remainder > 0x8000 || (remainder === 0x8000 && quotient % 2 === 1)) quotient++;
  const digits = String(quotient).padStart(6, "0");
  return `${digits.slice(0, -5)}.${digits.slice(-5)}`;
}
