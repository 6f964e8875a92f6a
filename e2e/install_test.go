package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The installer lays out the binary, the config and the systemd unit (a
// staged install, so the test needs no root and no systemd), and the unit
// runs what it names.
func TestInstallStaged(t *testing.T) {
	parallelScenario(t)
	stage := t.TempDir()
	cmd := exec.Command("bash", "../scripts/install-gateway.sh", filepath.Join(binDir, "bk-gateway"))
	cmd.Env = append(os.Environ(), "PREFIX="+stage)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	for _, p := range []string{"usr/local/bin/bk-gateway", "etc/bk-gateway/config.yaml", "etc/systemd/system/bk-gateway.service", "var/lib/bk-gateway",
		"usr/lib/bk-gateway/plugins/bk-plugin-tamper", "usr/lib/bk-gateway/plugins/bk-plugin-motion"} {
		if _, err := os.Stat(filepath.Join(stage, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(stage, "etc/systemd/system/bk-gateway.service"))
	if !strings.Contains(string(unit), "ExecStart=/usr/local/bin/bk-gateway run --config /etc/bk-gateway/config.yaml") {
		t.Errorf("unit does not run the installed binary with the installed config:\n%s", unit)
	}
	out, err := exec.Command(filepath.Join(stage, "usr/local/bin/bk-gateway"), "check", "--config",
		filepath.Join(stage, "etc/bk-gateway/config.yaml")).CombinedOutput()
	if err != nil {
		t.Errorf("installed config does not check: %v: %s", err, out)
	}
	// Running it again keeps the config an installer edited.
	cfg := filepath.Join(stage, "etc/bk-gateway/config.yaml")
	writeFile(t, cfg, "# edited\n"+string(must(os.ReadFile(cfg))))
	cmd = exec.Command("bash", "../scripts/install-gateway.sh", filepath.Join(binDir, "bk-gateway"))
	cmd.Env = append(os.Environ(), "PREFIX="+stage)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("second install: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(cfg); !strings.HasPrefix(string(b), "# edited") {
		t.Error("a second install replaced the edited config")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
