// Package e2e runs the real binaries together on loopback: the camera
// simulator, bk-fleet with its embedded broker (or Mosquitto), and
// bk-gateway, killing and restarting them to count what survives.
//
// All of it is in tests; this file only names the package.
package e2e
