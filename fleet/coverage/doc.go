// Package coverage computes the regulator's rates of SPEC §5 from the
// fleet's registry, gateway sessions, camera health intervals and
// violations. It is pure computation: the caller loads an Input
// (fleet/rates reads it from the database) and calls Compute with a
// Query; nothing here touches a database, a clock (except Query.Now left
// zero) or the network.
//
// # Definitions
//
// A canteen is in scope when it is in the Input, Active, and matches the
// query's category and district ("" matches any).
//
// A camera counts when its gateway is in the Input and Enrolled; cameras of
// other gateways are ignored by every rate. A camera belongs to its own
// CanteenID, or to its gateway's when that is empty.
//
// A healthy camera-second is one inside the canteen's operating hours at
// which the camera's gateway had an MQTT session open, and the camera's
// health interval said online with picture "ok". Intervals replayed after an
// uplink outage carry the gateway's own timestamps and so cover the outage,
// but the gateway was not connected then, so those seconds are not healthy.
//
//   - Built coverage: canteens in scope whose every required area is mapped
//     to a camera that counts ÷ canteens in scope. The registry keeps no
//     history of mappings, so this is "as of now" and appears only in the
//     Rates of a period, not per day.
//   - Online coverage, per day: canteens in scope whose every required area
//     was covered for at least Query.OnlineThreshold of that day's operating
//     hours ÷ canteens in scope that had operating hours that day. An area
//     is covered at an instant when any camera mapped to it is healthy then
//     (the union over its cameras, so two cameras on one area do not count
//     twice). Over a period, the numerator and denominator are summed over
//     days (canteen-days).
//   - Camera online rate: healthy camera-seconds ÷ camera-seconds, within
//     operating hours. A camera's seconds start at its first health interval:
//     before its first status the camera did not exist for the fleet.
//   - Handling rate: violations raised in the period and reviewed (confirmed
//     or dismissed) within Query.ReviewDeadline of being raised ÷ violations
//     raised in the period. A review at exactly the deadline is in time; an
//     unreviewed violation is not handled, even if its deadline is still
//     ahead (SPEC §5 read literally: the rate of today moves up as reviews
//     come in).
//   - Rectification rate: violations raised in the period with verdict
//     "confirmed" whose rectification was accepted ÷ those confirmed.
//   - Reply rate (投诉举报回复率): complaints received in the period that
//     were answered by Now (replied to, or rejected with a reason, which
//     the filer reads as the answer) ÷ complaints received in the period.
//   - On-time reply rate: complaints received in the period answered no
//     later than their reply deadline (set when each was filed) ÷
//     complaints received in the period. A complaint counts on the local
//     date it was received, as a violation does on the date raised.
//
// # Days
//
// Days are calendar dates in each canteen's time zone (Canteen.TZ, default
// Asia/Shanghai), so "2026-03-02" is that date's local day wherever the
// canteen is. Query.From and Query.To name dates (inclusive); only their
// year, month and day are used.
//
// Operating hours are weekly (Week): per weekday, ranges "HH:MM-HH:MM". A
// range whose end is not after its start runs past midnight into the next
// date ("22:00-02:00"), and belongs wholly to the weekday it is listed
// under: Monday's night shift is Monday's operating hours, as the canteen
// wrote it, and a canteen closed on Tuesday has no Tuesday even though
// Monday's shift ends at 02:00 on Tuesday. Where a past-midnight range runs
// into the next day's first range it is cut there, so no second is counted
// twice. A violation's day is the local date it was raised on.
//
// A canteen with no operating hours on a day (closed, or the day has not
// begun by Query.Now) is left out of that day's online-coverage
// denominator, and contributes no camera-seconds. A regulator asks "of the
// canteens open that day, how many could be watched"; counting a closed
// school canteen as uncovered would drop every weekend's rate, and counting
// it as covered would give credit for nothing.
//
// Time after Query.Now is not counted: today's rates are rates so far, and an
// open interval or session (End or Disconnected zero) lasts until Now. So
// are violations read as of Now: one raised after it is left out, and a
// review or an acceptance after it has not happened yet.
//
// A canteen with no required areas (the registry gives each canteen its
// category's defaults, so this is a canteen not set up yet) is counted as
// neither built- nor online-covered, rather than vacuously covered.
//
// # Numbers
//
// Every rate is a Ratio with its numerator and denominator, for export and
// charts. Canteen and violation rates count canteens, canteen-days or
// violations; the camera online rate counts seconds, summed exactly in
// milliseconds and rounded to the second per cell, so a total may differ by
// a second or so from the sum of its days.
//
// # Cost
//
// Compute sweeps sorted lists; nothing is done per second. Per canteen it
// lays the operating-hours windows over the query's days once (shared by
// canteens with the same hours and zone); per gateway it merges the
// sessions that overlap the query once; per camera it finds the query's
// first interval by galloping back from the newest (dashboards ask for
// recent days) and walks its intervals once against the sessions and the
// windows, giving healthy segments; per area it merges its cameras' sorted
// segments. The cost is O(intervals inside the query + sessions + canteens
// × days + violations), spread over GOMAXPROCS workers. BenchmarkCity
// measures it on the generated city.
//
// # Rollup
//
// A finished day changes only with late data or a change of the registry,
// so a store may keep it: ComputeDays gives each canteen-day's CanteenDay
// (what online coverage and the camera online rate need of it, whatever
// the threshold), Fingerprints what besides sessions and intervals it
// depends on, and Aggregate sums kept days with the live ones, built
// coverage and the violations into the Report Compute would give.
// coveragetest generates the benchmarks' city.
package coverage
