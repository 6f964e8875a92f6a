package main

import (
	"crypto/ed25519"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/api"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/ota"
	"github.com/brightkitchen/brightkitchen/internal/release"
)

// TestReleaseUpload: a signed bundle sent to a real fleet API is stored
// (again: already stored); one signed by a key the fleet does not trust,
// or sent with a wrong token, fails with the fleet's reason.
func TestReleaseUpload(t *testing.T) {
	dir := t.TempDir()
	keys, other := filepath.Join(dir, "release"), filepath.Join(dir, "other")
	for _, k := range []string{keys, other} {
		if code, _, errOut := runCmd("release", "keygen", "--out", k); code != 0 {
			t.Fatal(errOut)
		}
	}
	pemKey, _ := os.ReadFile(keys + ".pub")
	pub, err := release.ParsePublicKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	st := dbtest.Fresh(t)
	srv := httptest.NewServer((&api.Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "tok",
		OTA: ota.New(st.DB, ota.Config{Dir: filepath.Join(dir, "releases"), Keys: []ed25519.PublicKey{pub}})}).Handler())
	defer srv.Close()

	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "bk-gateway"), []byte("gateway"), 0o755)
	good, bad := filepath.Join(dir, "good.tar.gz"), filepath.Join(dir, "bad.tar.gz")
	for _, c := range [][2]string{{keys, good}, {other, bad}} {
		if code, _, errOut := runCmd("release", "sign", "--key", c[0]+".key", "--dir", src, "--version", "1.2.0", "--arch", "arm64", "--gzip", "--out", c[1]); code != 0 {
			t.Fatal(errOut)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--fleet", srv.URL, "--token", "tok", good}, 0, "stored: 1.2.0 for arm64, sha256 "},
		{[]string{"--fleet", srv.URL, "--token", "tok", good}, 0, "already stored: 1.2.0"},
		{[]string{"--fleet", srv.URL, "--token", "tok", bad}, 1, "the fleet refused it (422): release refused: bundle not signed by a trusted key"},
		{[]string{"--fleet", srv.URL, "--token", "wrong", good}, 1, "the fleet refused it (401)"},
		{[]string{"--fleet", srv.URL, "--token", "tok", filepath.Join(dir, "none.tar")}, 1, "no such file"},
		{[]string{"--fleet", "ftp://x", "--token", "tok", good}, 2, "want an http:// or https:// URL"},
		{[]string{"--fleet", srv.URL, good}, 2, "--token or BK_ADMIN_TOKEN is required"},
	} {
		t.Setenv("BK_ADMIN_TOKEN", "")
		code, out, errOut := runCmd(append([]string{"release", "upload"}, c.args...)...)
		if code != c.code || !strings.Contains(out+errOut, c.out) {
			t.Errorf("upload %v: %d %q %q; want %d with %q", c.args, code, out, errOut, c.code, c.out)
		}
	}
}
