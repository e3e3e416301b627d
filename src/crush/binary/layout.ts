// Constants of Ceph's binary CRUSH map (docs/crush-binary-format.md).
import { tunableProfile } from "../tunables.ts";
import type { Tunables } from "../types.ts";

/** First u32 of every binary map (Ceph's CRUSH_MAGIC). */
export const CRUSH_MAGIC = 0x00010000;

/** Bytes of the fixed header: magic, max_buckets, max_rules, max_devices. */
export const HEADER_BYTES = 16;

/** A tree bucket's node count is a u8 on disk, so a tree holds at most 127 items. */
export const TREE_NODE_COUNT_MAX = 0xff;

/**
 * What a map means when its tunables tail is missing or stops early: Ceph starts every
 * decode from the legacy (argonaut) values and overwrites only the fields present.
 */
export function legacyTunables(): Tunables {
  return tunableProfile("legacy");
}
