// Package vulndb turns the OSV files of the golang.org/x/vulndb module
// (data/osv/*.json) into the directory layout that govulncheck reads with
// -db file://DIR, so the scan runs offline: vuln.go.dev is not reachable
// from where the project is built and tested.
//
// The layout (govulncheck's "v1" schema for a local source):
//
//	index/db.json       {"modified": newest entry's time}
//	index/modules.json  [{"path", "vulns": [{"id", "modified"}]}], by path
//	index/vulns.json    [{"id", "modified", "aliases"}], by id
//	ID/<id>.json        the OSV entry, copied byte for byte
//
// The optional "fixed" of a module's vuln is left out: govulncheck then
// reads every entry listed for a module it finds, which costs a few more
// file reads and never hides an advisory.
package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// maxEntry bounds one OSV file; the largest in the database is well under
// a megabyte.
const maxEntry = 8 << 20

type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// Stats says what Build wrote.
type Stats struct {
	Entries, Modules int
}

// Build reads every *.json under src (an OSV directory) and writes the
// database under out, which must be missing, empty or an earlier database
// (it is replaced): the new one is written under a temporary name and
// renamed into place.
func Build(src, out string) (Stats, error) {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return Stats{}, err
	}
	if len(files) == 0 {
		return Stats{}, fmt.Errorf("no OSV files in %s", src)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".vulndb-*")
	if err != nil {
		return Stats{}, err
	}
	defer os.RemoveAll(tmp)
	for _, d := range []string{"index", "ID"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return Stats{}, err
		}
	}
	modules := map[string]*module{}
	var vulns []vuln
	var newest time.Time
	for _, f := range files {
		raw, err := readBounded(f)
		if err != nil {
			return Stats{}, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return Stats{}, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		if e.ID == "" || strings.ContainsAny(e.ID, `/\`) || e.ID+".json" != filepath.Base(f) {
			return Stats{}, fmt.Errorf("%s: id %q does not name the file", filepath.Base(f), e.ID)
		}
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return Stats{}, err
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			p := a.Package.Name
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			m := modules[p]
			if m == nil {
				m = &module{Path: p}
				modules[p] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
	}
	mods := make([]*module, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	sort.Slice(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })
	for name, v := range map[string]any{
		"db.json": struct {
			Modified time.Time `json:"modified"`
		}{newest},
		"modules.json": mods,
		"vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return Stats{}, err
		}
		if err := os.WriteFile(filepath.Join(tmp, "index", name), b, 0o644); err != nil {
			return Stats{}, err
		}
	}
	if err := removeOld(out); err != nil {
		return Stats{}, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return Stats{}, err
	}
	return Stats{Entries: len(vulns), Modules: len(mods)}, nil
}

// removeOld removes out if it is empty or a database (has index/db.json), and
// refuses anything else, so a mistyped -out never deletes a directory.
func removeOld(out string) error {
	ents, err := os.ReadDir(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		if _, err := os.Stat(filepath.Join(out, "index", "db.json")); err != nil {
			return fmt.Errorf("%s is neither empty nor a vulnerability database: not replaced", out)
		}
	}
	return os.RemoveAll(out)
}

func readBounded(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxEntry {
		return nil, fmt.Errorf("%s: %d bytes, over the %d limit", filepath.Base(path), fi.Size(), maxEntry)
	}
	return os.ReadFile(path)
}
