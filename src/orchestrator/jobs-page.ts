// Pages of the control command `jobs` (docs/protocol.md, "Control"): newest first, at most
// JOBS_PAGE_MAX per reply, and a cursor to the next page. The cursor names the last job shown
// ("<receivedAt>:<id>"), not a position, so jobs arriving between two pages do not shift the
// pages an admin walks through (they sort before the cursor; a new listing shows them).
import type { JobSummary } from "./job.ts";

export const JOBS_PAGE_DEFAULT = 100;
export const JOBS_PAGE_MAX = 1000;
const CURSOR_CHARS_MAX = 1024;

interface JobsCursor {
  receivedAt: number;
  id: string;
}

export interface JobsPage {
  limit: number;
  after: JobsCursor | null;
}

/** `limit` and `after` of a `jobs` request, or the sentence saying what is wrong with them. */
export function parseJobsPage(fields: { limit?: unknown; after?: unknown }): JobsPage | { error: string } {
  const limit = fields.limit ?? JOBS_PAGE_DEFAULT;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > JOBS_PAGE_MAX)
    return { error: `limit: expected an integer in 1..${JOBS_PAGE_MAX} (page with "after")` };
  const after = fields.after ?? null;
  if (after === null) return { limit, after: null };
  const match =
    typeof after === "string" && after.length <= CURSOR_CHARS_MAX ? /^(\d{1,16}):/.exec(after) : null;
  if (match === null || typeof after !== "string")
    return { error: 'after: expected the "next" cursor of a previous jobs reply' };
  return { limit, after: { receivedAt: Number(match[1]), id: after.slice(match[0].length) } };
}

/** Newest first; jobs received in the same millisecond by id, so the order is total. */
function compare(a: JobsCursor, b: JobsCursor): number {
  if (a.receivedAt !== b.receivedAt) return b.receivedAt - a.receivedAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One page of `matching` (every job the filter kept; reordered in place). */
export function jobsPage(
  matching: JobSummary[],
  page: JobsPage,
): { jobs: JobSummary[]; total: number; next: string | null } {
  const { after } = page;
  const rest = after === null ? matching : matching.filter((job) => compare(job, after) > 0);
  rest.sort(compare);
  const jobs = rest.slice(0, page.limit);
  const last = jobs.at(-1);
  const next = rest.length > jobs.length && last !== undefined ? `${last.receivedAt}:${last.id}` : null;
  return { jobs, total: matching.length, next };
}
