package rest

import (
	"runtime/debug"
)

// BuildInfo returns the binary's module version and VCS revision, for GET /.
func BuildInfo() (version, commit string) {
	version, commit = "dev", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, commit
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		version = v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			commit = s.Value
		}
	}
	return version, commit
}
