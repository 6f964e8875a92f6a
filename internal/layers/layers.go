// Package layers says which of the project's parts may import which, and
// checks a module's import graph against that. Its test runs the check on
// this repository, so a change that lets the gateway reach into the fleet,
// the fleet into the gateway, the plugin SDK into anything of ours, or the
// board support into either side fails `make test`.
//
// The rules read packages by path relative to the module ("gateway/core").
// A prefix covers a package and everything below it. Test imports count:
// a test that joins two sides belongs under e2e/, which may import
// anything, as may internal/ and the commands that only tie parts together
// there.
package layers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
)

// A Rule forbids the packages under From to import those under any of Deny,
// except those under one of Allow. "" stands for the whole module, and a
// prefix "*/x" matches x below any folder ("*/cmd": every command).
type Rule struct {
	From  string
	Deny  []string
	Allow []string
	// AllowInTests are more exceptions, for the imports of tests only.
	AllowInTests []string
	Why          string
}

// Rules are the project's layers (ARCHITECTURE.md, "Layout").
var Rules = []Rule{
	{From: "gateway", Deny: []string{"fleet"}, Allow: []string{"fleet/wire"},
		Why: "the gateway knows the fleet only through the device contract, fleet/wire"},
	{From: "fleet", Deny: []string{"gateway"},
		Why: "the fleet runs no gateway code: it knows gateways by the device contract"},
	// internal/backoff, the one retry delay, imports nothing of ours: the
	// SDK's supervisor waits with it and a plugin's build still pulls in
	// no gateway or fleet code.
	// Its tests wait with the one polling helper, internal/wait.
	{From: "plugins/sdk", Deny: []string{""}, Allow: []string{"plugins/sdk", "internal/backoff"},
		AllowInTests: []string{"internal/wait"},
		Why:          "a plugin's author builds on the SDK and its generated code alone"},
	{From: "internal/backoff", Deny: []string{""}, Allow: []string{"internal/backoff"},
		Why: "the SDK imports it: it must stay a leaf"},
	{From: "hw", Deny: []string{"gateway", "fleet", "plugins"},
		Why: "board support and the camera simulator sit below both sides"},
	{From: "", Deny: []string{"internal/rtc/rtctest"}, AllowInTests: []string{"internal/rtc/rtctest"},
		Why: "the WebRTC test peers and canned offers are for tests: no binary carries them"},
	// The fleet's storage stands in floors (ARCHITECTURE.md, "Layout"):
	// the SQL core, then the registry every domain hangs off,
	// then the domains beside each other, then what joins them (retention,
	// the API, the commands). A floor reaches only down.
	// Tests may join floors: a store test needs a table, a rates test the
	// alarms that feed it.
	{From: "fleet/store", Deny: []string{"fleet"}, Allow: []string{"fleet/store"},
		AllowInTests: fleetInTests,
		Why:          "the SQL core knows no domain: domains build on it"},
	{From: "fleet/coverage", Deny: []string{"fleet"}, Allow: []string{"fleet/coverage", "fleet/wire"},
		AllowInTests: fleetInTests,
		Why:          "the rates engine is pure: it reads intervals, not a store"},
	{From: "fleet/registry", Deny: []string{"fleet"}, Allow: fleetFloor("fleet/registry"),
		AllowInTests: fleetInTests,
		Why:          "the registry is the floor the domains stand on: it imports none of them"},
	{From: "fleet/auth", Deny: fleetDomains, Allow: []string{"fleet/auth"}, AllowInTests: fleetInTests,
		Why: "domains stand beside each other: one reaches another only through the registry"},
	{From: "fleet/alarms", Deny: fleetDomains, Allow: []string{"fleet/alarms"}, AllowInTests: fleetInTests,
		Why: "domains stand beside each other: one reaches another only through the registry"},
	{From: "fleet/rates", Deny: fleetDomains, Allow: []string{"fleet/rates"}, AllowInTests: fleetInTests,
		Why: "domains stand beside each other: one reaches another only through the registry"},
	{From: "fleet/enrol", Deny: fleetDomains, Allow: []string{"fleet/enrol"}, AllowInTests: fleetInTests,
		Why: "domains stand beside each other: one reaches another only through the registry"},
	{From: "fleet/ota", Deny: fleetDomains, Allow: []string{"fleet/ota"}, AllowInTests: fleetInTests,
		Why: "domains stand beside each other: one reaches another only through the registry"},
	{From: "fleet/push", Deny: fleetDomains, Allow: []string{"fleet/push"}, AllowInTests: fleetInTests,
		Why: "domains stand beside each other: the pusher (fleet/notify) joins push to alarms and auth"},
	{From: "", Deny: []string{"fleet/auth/authtest"}, AllowInTests: []string{"fleet/auth/authtest"},
		Why: "cheap password hashes are for tests: no binary may lower the cost"},
	{From: "", Deny: []string{"*/cmd"},
		Why: "a command only ties packages together: nothing imports one"},
}

// fleetDomains are the fleet's storage domains above the registry; none
// imports another, nor anything that joins them.
var fleetDomains = []string{"fleet/auth", "fleet/alarms", "fleet/rates", "fleet/enrol", "fleet/ota", "fleet/push", "fleet/retention", "fleet/api", "fleet/core", "fleet/ingest"}

// fleetInTests are what a storage test may import beyond its floor.
var fleetInTests = []string{"fleet/store", "fleet/registry", "fleet/auth", "fleet/alarms", "fleet/rates", "fleet/push", "fleet/dbtest"}

// fleetFloor allows a package of the fleet's storage to import itself and
// the floors below the domains.
func fleetFloor(self string) []string {
	return []string{self, "fleet/store", "fleet/coverage", "fleet/wire"}
}

// A Package is one package's path, what it imports and what only its tests
// import, all relative to the module; imports from outside the module are
// left out.
type Package struct {
	Path        string
	Imports     []string
	TestImports []string
}

// A Violation is one forbidden import.
type Violation struct {
	From, To string
	Rule     Rule
}

func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s: %s", v.From, v.To, v.Rule.Why)
}

// under reports whether path is prefix or below it; "" is above everything,
// and "*/x" is x at any depth.
func under(path, prefix string) bool {
	if rest, ok := strings.CutPrefix(prefix, "*/"); ok {
		for p := path; ; {
			if under(p, rest) {
				return true
			}
			_, next, ok := strings.Cut(p, "/")
			if !ok {
				return false
			}
			p = next
		}
	}
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

// Check returns every import of pkgs that a rule forbids, in order.
func Check(rules []Rule, pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		for _, r := range rules {
			if !under(p.Path, r.From) {
				continue
			}
			for i, imp := range slices.Concat(p.Imports, p.TestImports) {
				allow := r.Allow
				if i >= len(p.Imports) {
					allow = slices.Concat(allow, r.AllowInTests)
				}
				denied := slices.ContainsFunc(r.Deny, func(d string) bool { return under(imp, d) })
				allowed := slices.ContainsFunc(allow, func(a string) bool { return under(imp, a) })
				if denied && !allowed {
					out = append(out, Violation{From: p.Path, To: imp, Rule: r})
				}
			}
		}
	}
	return out
}

// Load lists the packages of the module in dir with `go list`, with the
// imports of their tests.
func Load(ctx context.Context, dir string) ([]Package, error) {
	mod, err := goCmd(ctx, dir, "list", "-m")
	if err != nil {
		return nil, err
	}
	module := strings.TrimSpace(string(mod))
	out, err := goCmd(ctx, dir, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", "./...")
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
			Error                              *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		rel, ok := relative(module, p.ImportPath)
		if !ok {
			continue
		}
		pkg := Package{Path: rel}
		for i, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			r, ok := relative(module, imp)
			if !ok || r == rel || slices.Contains(pkg.Imports, r) || slices.Contains(pkg.TestImports, r) {
				continue
			}
			if i < len(p.Imports) {
				pkg.Imports = append(pkg.Imports, r)
			} else {
				pkg.TestImports = append(pkg.TestImports, r)
			}
		}
		pkgs = append(pkgs, pkg)
	}
	return pkgs, nil
}

// relative is path without the module's prefix, if it is in the module.
func relative(module, path string) (string, bool) {
	if path == module {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, module+"/")
	return rest, ok
}

func goCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
