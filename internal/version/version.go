// Package version holds the build's version, stamped with -ldflags -X.
package version

import "runtime/debug"

// Version is set at build time by the Makefile; "dev" otherwise.
var Version = "dev"

// String is the version with the VCS revision when the build has one.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return Version
}
