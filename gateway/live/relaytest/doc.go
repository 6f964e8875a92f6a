// Package relaytest holds an end-to-end test of the gateway's live
// publisher (gateway/live) into the fleet's relay (fleet/live), watched by
// a WHEP viewer. It is a package of its own so that the gateway's code and
// its own tests never import the fleet's relay (ARCHITECTURE.md: gateway
// imports only fleet/wire), and so that a change in the relay cannot break
// the build of gateway/live's tests.
package relaytest
