// The failure-domain tree (datacenter > rack > host > satellite) from the locations satellites
// register with ("datacenter=dc1,rack=r1,host=h1"). Levels come in the order the location lists
// them; satellites without a location (plain MDP workers) sit under "(no location)".
import type { TreeNode } from "./model.ts";

export const NO_LOCATION = "(no location)";

export function buildTree(satellites: Iterable<{ id: string; location: string }>): TreeNode {
  const root: TreeNode = { name: "fleet", children: [], satellites: [] };
  const index = new Map<TreeNode, Map<string, TreeNode>>();
  const child = (parent: TreeNode, name: string): TreeNode => {
    let children = index.get(parent);
    if (children === undefined) index.set(parent, (children = new Map()));
    let node = children.get(name);
    if (node === undefined) {
      node = { name, children: [], satellites: [] };
      children.set(name, node);
      parent.children.push(node);
    }
    return node;
  };
  for (const satellite of satellites) {
    const parts = satellite.location
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "");
    let node = parts.length === 0 ? child(root, NO_LOCATION) : root;
    for (const part of parts) node = child(node, part);
    node.satellites.push(satellite.id);
  }
  sort(root);
  return root;
}

function sort(node: TreeNode): void {
  node.children.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  node.satellites.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  for (const child of node.children) sort(child);
}

/** A key that changes exactly when the tree's shape does (which satellite sits where). */
export function treeKey(satellites: Iterable<{ id: string; location: string }>): string {
  const pairs: string[] = [];
  for (const satellite of satellites) pairs.push(`${satellite.id}\u0000${satellite.location}`);
  return pairs.sort().join("\u0001");
}
