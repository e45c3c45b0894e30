package licensetest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// apacheSHA256 is the SHA-256 of the Apache License 2.0 as the ASF publishes
// it (https://www.apache.org/licenses/LICENSE-2.0.txt, and Debian's
// /usr/share/common-licenses/Apache-2.0), appendix placeholder included.
const apacheSHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

// placeholder is the appendix's copyright line in the published text.
const placeholder = "   Copyright [yyyy] [name of copyright owner]"

// ourCopyright is the one line LICENSE may have in the placeholder's stead.
var ourCopyright = regexp.MustCompile(`(?m)^   Copyright \d{4}(-\d{4})? The sportsconnect authors$`)

// mainPkg is the binary whose linked modules the notices must cover.
const mainPkg = "./cmd/sportsconnect"

// repoRoot returns the module root of this checkout.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v (%q)", err, out)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// readFile returns the content of path or fails t.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// apacheText reads LICENSE, checks that it is the published Apache License
// 2.0 byte for byte except, at most, the appendix's copyright line filled
// in for the sportsconnect authors, and returns the published text.
func apacheText(t *testing.T) string {
	t.Helper()
	lic := readFile(t, filepath.Join(repoRoot(t), "LICENSE"))
	if n := len(ourCopyright.FindAllString(lic, -1)); n > 1 {
		t.Fatalf("LICENSE has %d copyright lines for the sportsconnect authors, want at most 1", n)
	}
	published := ourCopyright.ReplaceAllLiteralString(lic, placeholder)
	sum := sha256.Sum256([]byte(published))
	if got := hex.EncodeToString(sum[:]); got != apacheSHA256 {
		t.Fatalf("LICENSE is not the Apache License 2.0 text (sha256 %s, want %s with the appendix line %q "+
			"or %q); copy /usr/share/common-licenses/Apache-2.0 or https://www.apache.org/licenses/LICENSE-2.0.txt",
			got, apacheSHA256, placeholder, "   Copyright 2026 The sportsconnect authors")
	}
	return published
}

// TestLicenseIsApache2 fails unless LICENSE at the repository root is the
// Apache License 2.0 exactly as published, with at most the appendix's
// copyright line naming the sportsconnect authors.
func TestLicenseIsApache2(t *testing.T) {
	text := apacheText(t)
	if !strings.HasPrefix(strings.TrimSpace(text), "Apache License\n                           Version 2.0, January 2004") {
		t.Fatal("LICENSE does not start with the Apache License 2.0 title")
	}
}

// linkedPackage is one non-standard package linked into the binary.
type linkedPackage struct {
	module, version, moduleDir, dir string
}

// linked returns the packages of other modules that go list -deps shows for
// the binary, both as `go build` builds it here and as the container build
// does (CGO_ENABLED=0), since build constraints may differ.
func linked(t *testing.T) []linkedPackage {
	t.Helper()
	root := repoRoot(t)
	seen := map[string]linkedPackage{}
	for _, env := range [][]string{nil, {"CGO_ENABLED=0", "GOOS=linux"}} {
		cmd := exec.Command("go", "list", "-deps", "-f",
			"{{with .Module}}{{if not .Main}}{{.Path}}\t{{.Version}}\t{{.Dir}}\t{{$.Dir}}{{end}}{{end}}", mainPkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("go list -deps %s (%v): %v\n%s", mainPkg, env, err, stderr)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 4 {
				continue
			}
			if f[2] == "" {
				t.Fatalf("module %s %s has no directory in the module cache (go mod download)", f[0], f[1])
			}
			seen[f[3]] = linkedPackage{module: f[0], version: f[1], moduleDir: f[2], dir: f[3]}
		}
	}
	if len(seen) == 0 {
		t.Fatalf("go list -deps %s shows no package of another module", mainPkg)
	}
	pkgs := make([]linkedPackage, 0, len(seen))
	for _, p := range seen {
		pkgs = append(pkgs, p)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].dir < pkgs[j].dir })
	return pkgs
}

// row is one line of the notices' table of linked modules.
type row struct {
	module, version string
	licences        []string // SPDX ids of the licence expression
}

// notices returns deploy/THIRD_PARTY_NOTICES.md and its table, by module.
func notices(t *testing.T) (string, map[string]row) {
	t.Helper()
	text := readFile(t, filepath.Join(repoRoot(t), "deploy", "THIRD_PARTY_NOTICES.md"))
	rows := map[string]row{}
	inTable := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inTable = line == "## Linked modules"
			continue
		}
		if !inTable || !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| ---") || strings.HasPrefix(line, "| module ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("THIRD_PARTY_NOTICES.md: table row %q does not have 3 cells (module | version | licence)", line)
		}
		fields := strings.Fields(strings.Trim(strings.TrimSpace(cells[0]), "`"))
		if len(fields) == 0 {
			t.Fatalf("THIRD_PARTY_NOTICES.md: table row %q names no module", line)
		}
		r := row{module: fields[0], version: strings.TrimSpace(cells[1])}
		for _, id := range regexp.MustCompile(`\s+(?:AND|OR)\s+`).Split(strings.TrimSpace(cells[2]), -1) {
			if !knownLicence[id] {
				t.Errorf("THIRD_PARTY_NOTICES.md: %s: licence %q is not one of the SPDX ids this test knows", r.module, id)
			}
			r.licences = append(r.licences, id)
		}
		if _, dup := rows[r.module]; dup {
			t.Errorf("THIRD_PARTY_NOTICES.md: %s is listed twice", r.module)
		}
		rows[r.module] = r
	}
	if len(rows) == 0 {
		t.Fatal(`THIRD_PARTY_NOTICES.md has no table under "## Linked modules"`)
	}
	return text, rows
}

// knownLicence holds the SPDX ids a table row may name.
var knownLicence = map[string]bool{
	"MIT": true, "BSD-2-Clause": true, "BSD-3-Clause": true, "Apache-2.0": true, "ISC": true, "MPL-2.0": true,
}

// TestNoticesListLinkedModules fails if a module linked into the binary is
// missing from THIRD_PARTY_NOTICES.md or listed at another version, or if
// the table lists a module the binary no longer links.
func TestNoticesListLinkedModules(t *testing.T) {
	_, rows := notices(t)
	want := map[string]string{}
	for _, p := range linked(t) {
		want[p.module] = p.version
	}
	for mod, ver := range want {
		r, ok := rows[mod]
		switch {
		case !ok:
			t.Errorf("%s %s is linked into %s but missing from deploy/THIRD_PARTY_NOTICES.md", mod, ver, mainPkg)
		case r.version != ver:
			t.Errorf("deploy/THIRD_PARTY_NOTICES.md lists %s at %s, the binary links %s", mod, r.version, ver)
		}
	}
	for mod := range rows {
		if _, ok := want[mod]; !ok && mod != "std" {
			t.Errorf("deploy/THIRD_PARTY_NOTICES.md lists %s, which %s does not link", mod, mainPkg)
		}
	}
	if r, ok := rows["std"]; !ok || strings.Join(r.licences, " AND ") != "BSD-3-Clause" {
		t.Errorf("deploy/THIRD_PARTY_NOTICES.md: want a row for std (the Go standard library), BSD-3-Clause; got %+v", r)
	}
	if !t.Failed() {
		t.Logf("%d modules linked, all listed", len(want))
	}
}

// licenceFile matches the names of licence and notice files.
var licenceFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice)([.-].*)?$`)

// normalize collapses every run of white space to one space, so a text
// reproduced in Markdown matches its file whatever the line ends.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// classify names the first licence a text holds, "" when it knows none.
func classify(text string) string {
	n := normalize(text)
	first, id := -1, ""
	consider := func(i int, lic string) {
		if i >= 0 && (first < 0 || i < first) {
			first, id = i, lic
		}
	}
	consider(strings.Index(n, "Apache License Version 2.0"), "Apache-2.0")
	consider(strings.Index(n, "Permission is hereby granted, free of charge"), "MIT")
	if i := strings.Index(n, "Redistribution and use in source and binary forms"); i >= 0 {
		bsd := "BSD-2-Clause"
		if j := strings.Index(n[i:], "endorse or promote products"); j >= 0 && j < 1200 {
			bsd = "BSD-3-Clause"
		}
		consider(i, bsd)
	}
	return id
}

// TestNoticesReproduceLicenceTexts walks up from every linked package's
// directory to its module's root and collects the licence and NOTICE files
// on the way. Each must be reproduced in THIRD_PARTY_NOTICES.md (white space
// aside), except a LICENSE that is the standard Apache License 2.0 text,
// which is the project's own LICENSE; and the licence each file holds must
// be named in its module's row. The Go distribution's LICENSE must be
// reproduced too.
func TestNoticesReproduceLicenceTexts(t *testing.T) {
	apache := normalize(apacheText(t))
	text, rows := notices(t)
	body := normalize(text)

	files := map[string]linkedPackage{} // licence file path -> a package it covers
	for _, p := range linked(t) {
		for d := p.dir; ; d = filepath.Dir(d) {
			entries, err := os.ReadDir(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !e.IsDir() && licenceFile.MatchString(e.Name()) {
					files[filepath.Join(d, e.Name())] = p
				}
			}
			if d == p.moduleDir || len(d) <= len(p.moduleDir) {
				break
			}
		}
	}
	covered := map[string]bool{}
	for path, p := range files {
		covered[p.module] = true
		rel, _ := filepath.Rel(p.moduleDir, path)
		name := p.module + " " + p.version + ": " + filepath.ToSlash(rel)
		content := readFile(t, path)
		isNotice := strings.HasPrefix(strings.ToUpper(filepath.Base(path)), "NOTICE")
		lic := ""
		if !isNotice {
			lic = classify(content)
			if lic == "" {
				t.Errorf("%s: this test cannot tell which licence it is; read it, name it in the table and teach classify", name)
				continue
			}
			if r, ok := rows[p.module]; ok && !slices.Contains(r.licences, lic) {
				t.Errorf("%s is %s, but the module's row names %s", name, lic, strings.Join(r.licences, " AND "))
			}
		}
		if lic == "Apache-2.0" && normalize(content) == apache {
			continue // the standard text: LICENSE at the root is the copy
		}
		if !strings.Contains(body, normalize(content)) {
			t.Errorf("%s is not reproduced in deploy/THIRD_PARTY_NOTICES.md", name)
		}
	}
	for mod := range rows {
		if mod != "std" && !covered[mod] {
			t.Errorf("%s: no licence file found in the module cache for its linked packages", mod)
		}
	}

	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goLicence := readFile(t, filepath.Join(strings.TrimSpace(string(out)), "LICENSE"))
	if !strings.Contains(body, normalize(goLicence)) {
		t.Error("the Go distribution's LICENSE (std) is not reproduced in deploy/THIRD_PARTY_NOTICES.md")
	}
	if !t.Failed() {
		t.Logf("%d licence and notice files checked, every one reproduced or the standard Apache text", len(files))
	}
}
