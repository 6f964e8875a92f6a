// The violation types and their names in both languages, from GET
// /api/v1/violation-types (fleet/wire holds the one list): loaded once a
// principal is signed in; their names go to named("vt", …), their ids to
// the filters.

import {setNames} from "./i18n.js";
import {api} from "./api.js";

let list = null;

/**
 * Loads the types once. On a failure the UI shows type ids instead of
 * names, and the next page tries again.
 */
export async function loadTypes(signal) {
  if (list) return;
  const r = await api("/violation-types", {signal, quiet401: true});
  list = (r && r.types) || [];
  setNames("vt", list);
}

/** The ids of the types an alarm may have (not the load generator's, nor pictures taken on request). */
export function violationTypes() {
  return (list || []).filter(v => v.kind !== "test" && v.kind !== "ops").map(v => v.id);
}
