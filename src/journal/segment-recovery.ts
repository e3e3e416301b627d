// Recovery at open (synchronous): verifies every segment and repairs what a crash or a bad disk left,
// without ever deleting bytes it could not read (docs/journal.md "Recovery at open" and "Damage").
//
// - A torn tail (an incomplete last record of the last segment, or zero fill after it, with no valid
//   record behind it) is what a crash mid-commit leaves: those records were never reported committed,
//   so the file is truncated.
// - Anything else is damage: the segment is set aside whole (renamed <name>.damaged-<time>, never
//   deleted) and replaced by a segment holding every record that could be read: those before the
//   damage and, for salted (format 2) segments, those after it, found by scanning for the next frame
//   whose salted CRC holds. Later segments are kept and replayed.
// - A seq gap (a missing segment file, or records lost in a damaged segment that is not the last) is
//   reported once; the segment before it is flagged "hole after" so later opens accept the gap.
//
// segment-scan.ts reads and verifies, segment-repair.ts repairs; this file decides, segment by segment.
import fs from "node:fs";
import path from "node:path";
import type { Recovered, RecoveryContext, RecoveryReport, SegmentFile } from "./recovery-types.ts";
import { FLAG_HOLE_AFTER, SEGMENT_NAME, segmentName } from "./segment-format.ts";
import {
  dropSuperseded,
  installEmptyLog,
  installMarker,
  removeTempFiles,
  repairing,
  replaceDamaged,
  reportGap,
  setAsideOverlap,
  truncateTornTail,
} from "./segment-repair.ts";
import { listDirectory, probeSegment, scanSegment, segmentOf, unreadable } from "./segment-scan.ts";

/** Verifies and repairs the log in `dir`; returns its segments, the last one open for writing. */
export function recoverDirectory(dir: string, log: (line: string) => void, now: () => number): Recovered {
  const report: RecoveryReport = { records: 0, segments: 0, truncatedBytes: 0, setAside: [], damage: [] };
  const context: RecoveryContext = { dir, log, now, report };
  const entries = listDirectory(dir);
  removeTempFiles(context, entries);
  const probes = dropSuperseded(
    context,
    entries.filter((name) => SEGMENT_NAME.test(name)).map((name) => probeSegment(dir, name)),
  );
  const kept: SegmentFile[] = [];
  // The seqs missing before the next segment were those of a segment set aside whole: no second report.
  let gapExplained = false;
  for (let index = 0; index < probes.length; index++) {
    const probe = probes[index];
    const last = index === probes.length - 1;
    const previous = kept.at(-1);
    const expected = previous === undefined ? probe.firstSeq : previous.firstSeq + previous.records;
    if (probe.firstSeq < expected) {
      setAsideOverlap(context, probe, expected);
      gapExplained = true;
      continue;
    }
    if (previous !== undefined && probe.firstSeq > expected && (previous.flags & FLAG_HOLE_AFTER) === 0) {
      if (!gapExplained) reportGap(context, probe, expected);
      kept.push(repairing(context, probe.name, () => installMarker(dir, expected)));
    }
    gapExplained = false;
    const scan = scanSegment(dir, probe);
    if (scan.problem === undefined) {
      kept.push(segmentOf(probe, scan.runs[0]));
    } else if (last && scan.torn) {
      kept.push(truncateTornTail(context, probe, scan));
    } else {
      const capacity = last ? null : probes[index + 1].firstSeq - probe.firstSeq;
      kept.push(replaceDamaged(context, probe, scan, { first: kept.length === 0, last, capacity }));
    }
  }
  if (kept.length === 0) kept.push(repairing(context, segmentName(1), () => installEmptyLog(dir)));
  const active = kept.at(-1)!;
  let activeFd: number;
  try {
    activeFd = fs.openSync(path.join(dir, active.name), "r+");
  } catch (error) {
    throw unreadable(dir, `cannot open segment ${active.name} for writing`, error);
  }
  report.segments = kept.length;
  report.records = kept.reduce((sum, segment) => sum + segment.records, 0);
  return { segments: kept, activeFd, report };
}
