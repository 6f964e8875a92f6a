// Package setup is the gateway's setup page for installers: a small web
// app (zh-CN first, English too, made for a phone, no outside assets) on
// the gateway's local HTTP listener at /setup, and its JSON API under
// /setup/api/.
//
// Signing in takes the setup password or an enrolment code. The password
// is made on the gateway's first start (15 characters without look-alikes,
// about 75 bits), printed once to the log, written to an owner-only file
// in the data directory (PasswordFile) and kept as a PBKDF2-SHA256 hash
// (HashFile); a browser that signs in gets a random session cookie
// (HttpOnly, SameSite=Strict, path /setup, 2 hours, in memory only).
// Wrong passwords are counted per client address: after 5 in 15 minutes
// that address gets 429 with Retry-After until the oldest is 15 minutes
// old, and after 50 from all addresses together everybody waits. An
// enrolment code, with the fleet's web address, is handed to the
// Enroller (SetEnroller; the gateway's core plugs in one that enrols as
// `bk-gateway enrol` does, while the gateway has no credentials): a code
// the fleet accepts enrols the gateway, which restarts into its identity,
// and the answer shows the setup password to sign in with after the
// restart; a code it refuses counts as a wrong password; an enrolled
// gateway answers 409. Without an Enroller a code is answered 501.
//
// Once signed in, the installer finds cameras by ONVIF WS-Discovery
// (package onvif), asks a camera for its main and sub-streams, or types
// an address; probes a stream (codec, resolution, frame rate, measured on
// a short RTSP session of its own, and a JPEG preview of its first
// picture); then names the camera, picks its area, marks it public,
// chooses the live-view stream and the detectors, and saves.
//
// Saving edits the cameras list of the gateway's own YAML file (the rest
// of the file, comments included, stays), loads the result with
// config.Load, the loader `bk-gateway check` runs, from a temporary file
// beside it, and only then renames it over the file (synced first, so a
// crash leaves the old file or the new one). A file the loader refuses is
// not written, and the page shows the loader's message with the key. The
// saved config's cameras are then applied at once (Page.Apply; the
// gateway's core restarts the cameras that changed).
//
// Outside input is bounded: request bodies are at most 64 KiB, at most two
// discoveries or probes run at once (503 busy beyond), each probe within
// ProbeTimeout, and a camera's answers go through package onvif's size
// limits; an error from a camera is an answer to that request, and the
// page keeps serving.
package setup
