/**
 * Incident and silence ids: 16 base62 characters from crypto random bytes with rejection
 * sampling (unguessable, fit callback data). One generator for every id pitwall hands out, so
 * it lives with the approvals guard that wrote it first; this re-export is the alerts' seam.
 */
export { isId, newId } from "../../guards/approvals/ids.ts";
