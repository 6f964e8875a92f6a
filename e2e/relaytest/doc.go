// Package relaytest holds an end-to-end test of the gateway's live
// publisher (gateway/live) into the fleet's relay (fleet/live), watched by
// a WHEP viewer, in process. It lives with the end-to-end tests because it
// joins both sides, which nothing under gateway/ or fleet/ may (see
// internal/layers), and is a package of its own so that it keeps its
// goroutine-leak check, which the process-spawning e2e package cannot have.
package relaytest
