// The signed-in principal as GET /api/v1/me (and a login) gives it: who
// it is, the permissions its role has (fleet/api's permissions table, the
// one the API enforces) and the canteens it reaches. Pages ask can() and
// inScope() instead of knowing the roles.

/** Whether me has the permission perm ("alarms.review"…). */
export function can(me, perm) {
  return !!me && Array.isArray(me.permissions) && me.permissions.includes(perm);
}

/**
 * Whether the canteen c ({id, district}) is in me's scope: a null list
 * does not restrict.
 */
export function inScope(me, c) {
  const sc = (me && me.scope) || {};
  if (sc.canteens && !sc.canteens.includes(c.id)) return false;
  if (sc.districts && c.district !== undefined && !sc.districts.includes(c.district)) return false;
  return true;
}
