package rest

import (
	"runtime"
	"runtime/debug"
)

// franzGo is the module path of the Kafka client linked in.
const franzGo = "github.com/twmb/franz-go"

// Build describes the running binary, as `sportsconnect version` prints it.
type Build struct {
	Version   string // the module version, "dev" for a build from a checkout
	Commit    string // the VCS revision, "unknown" without one
	Modified  bool   // built from a tree with uncommitted changes
	GoVersion string // the Go toolchain that built it
	FranzGo   string // the franz-go version linked in, "unknown" if not found
}

// ReadBuild returns the binary's build details from its embedded build
// information (runtime/debug.ReadBuildInfo).
func ReadBuild() Build {
	b := Build{Version: "dev", Commit: "unknown", GoVersion: runtime.Version(), FranzGo: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && s.Value != "":
			b.Commit = s.Value
		case s.Key == "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	for _, d := range bi.Deps {
		if d.Path != franzGo {
			continue
		}
		b.FranzGo = d.Version
		if d.Replace != nil && d.Replace.Version != "" {
			b.FranzGo = d.Replace.Version
		}
	}
	return b
}

// BuildInfo returns the binary's module version and VCS revision, for GET /.
func BuildInfo() (version, commit string) {
	b := ReadBuild()
	return b.Version, b.Commit
}
