package packaging

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/testbin"
	"github.com/brightkitchen/brightkitchen/scripts/packaging/qemuns"
)

// stamp is the version the test's binaries say they are (--version).
const stamp = "v1.0.0-debtest"

// need skips the test when a program scripts/deps.sh installs is missing.
func need(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not found: scripts/deps.sh installs it", p)
		}
	}
}

// run runs a command, bounded in time, and returns its stdout; it fails
// the test with its output when it fails.
func run(t testing.TB, limit time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.Bytes(), errb.Bytes())
	}
	return out.String()
}

// builds holds the packages built once for all the tests, by architecture
// and version. The binaries are built into DEB_BIN (internal/testbin),
// where a second version's packing, or the next make test, finds them up
// to date.
var builds struct {
	sync.Mutex
	dir  string
	debs map[string]map[string]string // "amd64/1.0.0/none" -> package -> file
}

// debs builds (once) the packages of arch at Debian version ver with
// scripts/deb.sh, uncompressed (xz, make deb's, costs a minute a package
// on a busy machine; the tests need the contents only), and returns their
// files by package name.
func debs(t testing.TB, arch, ver string, packages ...string) map[string]string {
	t.Helper()
	return debsCompressed(t, arch, ver, "none", packages...)
}

// debsCompressed is debs with dpkg-deb's compression named.
func debsCompressed(t testing.TB, arch, ver, compress string, packages ...string) map[string]string {
	t.Helper()
	need(t, "dpkg-deb", "readelf")
	builds.Lock()
	defer builds.Unlock()
	key := arch + "/" + ver + "/" + compress
	if d, ok := builds.debs[key]; ok {
		return d
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "bk-debtest-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.debs = dir, map[string]map[string]string{}
	}
	out := filepath.Join(builds.dir, key)
	stdout := run(t, 20*time.Minute, []string{
		"DEB_ARCHS=" + arch,
		"DEB_PACKAGES=" + strings.Join(packages, " "),
		"DEB_BIN=" + testbin.Dir(t, "deb"),
		"DEB_OUT=" + out,
		"DEB_VERSION=" + ver,
		"VERSION=" + stamp,
		"DEB_COMPRESS=" + compress,
	}, "bash", "../deb.sh")
	d := map[string]string{}
	for _, f := range strings.Fields(stdout) {
		d[strings.SplitN(filepath.Base(f), "_", 2)[0]] = f
	}
	for _, p := range packages {
		if d[p] == "" {
			t.Fatalf("scripts/deb.sh made no %s package for %s; it printed %q", p, arch, stdout)
		}
		if want := fmt.Sprintf("%s_%s_%s.deb", p, ver, arch); filepath.Base(d[p]) != want {
			t.Errorf("package file %s, want %s", filepath.Base(d[p]), want)
		}
	}
	builds.debs[key] = d
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// control reads a package's control fields.
func control(t testing.TB, deb string) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, line := range strings.Split(run(t, time.Minute, nil, "dpkg-deb", "--field", deb), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
			fields[k] = v
		}
	}
	return fields
}

// entry is one line of dpkg-deb --contents.
type entry struct{ mode, owner string }

func contents(t *testing.T, deb string) map[string]entry {
	t.Helper()
	files := map[string]entry{}
	sc := bufio.NewScanner(strings.NewReader(run(t, time.Minute, nil, "dpkg-deb", "--contents", deb)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			t.Fatalf("dpkg-deb --contents: %q", sc.Text())
		}
		files[strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")] = entry{f[0], f[1]}
	}
	return files
}

// checkContents checks that a package holds want (path -> mode), every
// file root's, and nothing under /etc but conffiles.
func checkContents(t *testing.T, deb string, want map[string]string, conffiles []string) {
	t.Helper()
	files := contents(t, deb)
	for p, mode := range want {
		e, ok := files[p]
		if !ok {
			t.Errorf("%s: no %s", filepath.Base(deb), p)
			continue
		}
		if e.mode != mode {
			t.Errorf("%s: %s mode %s, want %s", filepath.Base(deb), p, e.mode, mode)
		}
	}
	for p, e := range files {
		if e.owner != "root/root" {
			t.Errorf("%s: %s owned by %s, want root/root", filepath.Base(deb), p, e.owner)
		}
		if strings.HasPrefix(p, "/etc/") && e.mode[0] == '-' && !slices.Contains(conffiles, p) {
			t.Errorf("%s: %s under /etc is not a conffile", filepath.Base(deb), p)
		}
	}
	dir := t.TempDir()
	run(t, time.Minute, nil, "dpkg-deb", "--control", deb, dir)
	b, err := os.ReadFile(filepath.Join(dir, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(b)); !slices.Equal(got, conffiles) {
		t.Errorf("%s: conffiles %q, want %q", filepath.Base(deb), got, conffiles)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if fi, err := os.Stat(filepath.Join(dir, s)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: maintainer script %s: %v", filepath.Base(deb), s, err)
		}
	}
}

// checkDepends checks the Depends field names each of want (a package
// name, with or without a version).
func checkDepends(t *testing.T, deb string, want ...string) {
	t.Helper()
	deps := control(t, deb)["Depends"]
	var names []string
	for _, d := range strings.Split(deps, ",") {
		names = append(names, strings.Fields(d)[0])
	}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("%s: Depends %q lacks %s", filepath.Base(deb), deps, w)
		}
	}
}

// The amd64 packages: their files, owners and modes, conffiles, Depends
// (the FFmpeg libraries the binaries link, as readelf shows them), and
// the units inside them pass systemd-analyze verify.
func TestDebAmd64(t *testing.T) {
	t.Parallel()
	d := debs(t, "amd64", "1.0.0", "bk-gateway", "bk-fleet")
	gw, fleet := d["bk-gateway"], d["bk-fleet"]

	t.Run("gateway contents", func(t *testing.T) {
		checkContents(t, gw, map[string]string{
			"/usr/bin/bk-gateway":                          "-rwxr-xr-x",
			"/usr/bin/bk-decodecheck":                      "-rwxr-xr-x",
			"/usr/lib/bk-gateway/plugins/bk-plugin-tamper": "-rwxr-xr-x",
			"/usr/lib/bk-gateway/plugins/bk-plugin-motion": "-rwxr-xr-x",
			"/usr/lib/bk-gateway/plugins/bk-plugin-onnx":   "-rwxr-xr-x",
			"/usr/lib/bk-gateway/lib/libonnxruntime.so.1":  "-rw-r--r--",
			"/usr/lib/bk-gateway/models":                   "drwxr-xr-x",
			"/lib/systemd/system/bk-gateway.service":       "-rw-r--r--",
			"/usr/share/bk-gateway/gateway.example.yaml":   "-rw-r--r--",
			"/etc/brightkitchen/gateway.env":               "-rw-r-----",
		}, []string{"/etc/brightkitchen/gateway.env"})
		f := control(t, gw)
		if f["Package"] != "bk-gateway" || f["Version"] != "1.0.0" || f["Architecture"] != "amd64" {
			t.Errorf("control: %q", f)
		}
		checkDepends(t, gw, "adduser", "libc6", "libavcodec59", "libswscale6", "libavutil57", "libstdc++6")
		if f["Recommends"] != "systemd" {
			t.Errorf("Recommends %q, want systemd", f["Recommends"])
		}
	})
	t.Run("fleet contents", func(t *testing.T) {
		checkContents(t, fleet, map[string]string{
			"/usr/bin/bk-fleet":                    "-rwxr-xr-x",
			"/lib/systemd/system/bk-fleet.service": "-rw-r--r--",
			"/etc/brightkitchen/fleet.env":         "-rw-r-----",
		}, []string{"/etc/brightkitchen/fleet.env"})
		// bk-fleet is pure Go, a static binary: it needs no library.
		if deps := control(t, fleet)["Depends"]; deps != "adduser" {
			t.Errorf("bk-fleet Depends %q, want adduser", deps)
		}
	})
	t.Run("gateway unit verifies", func(t *testing.T) {
		verifyUnit(t, gw, "bk-gateway.service", "/usr/bin/bk-gateway")
	})
	t.Run("fleet unit verifies", func(t *testing.T) {
		verifyUnit(t, fleet, "bk-fleet.service", "/usr/bin/bk-fleet")
	})
	t.Run("gateway runs", func(t *testing.T) {
		dir := t.TempDir()
		run(t, time.Minute, nil, "dpkg-deb", "-x", gw, dir)
		bin := filepath.Join(dir, "usr/bin/bk-gateway")
		if v := run(t, time.Minute, nil, bin, "--version"); v != "bk-gateway "+stamp+"\n" {
			t.Errorf("--version printed %q", v)
		}
		if c := run(t, time.Minute, nil, bin, "check", "--config", filepath.Join(dir, "usr/share/bk-gateway/gateway.example.yaml")); !strings.Contains(c, "ok") {
			t.Errorf("check of the packaged example printed %q", c)
		}
	})
}

// verifyUnit extracts a package and runs systemd-analyze verify on its
// unit, with bin (the unit's executable) pointed at the extracted one.
func verifyUnit(t *testing.T, deb, unit, bin string) {
	t.Helper()
	need(t, "systemd-analyze")
	dir := t.TempDir()
	run(t, time.Minute, nil, "dpkg-deb", "-x", deb, dir)
	b, err := os.ReadFile(filepath.Join(dir, "lib/systemd/system", unit))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ExecStart="+bin+" ") {
		t.Fatalf("%s: ExecStart does not run %s:\n%s", unit, bin, b)
	}
	path := filepath.Join(t.TempDir(), unit)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), bin, filepath.Join(dir, bin))), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemd-analyze", "verify", "--man=no", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
}

// The fleet's unit, as TestUnitFile in gateway/cmd/bk-gateway does for the
// gateway's: the keys that make it what docs/install.md says.
func TestFleetUnitFile(t *testing.T) {
	b, err := os.ReadFile("bk-fleet.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"User=bk-fleet", "EnvironmentFile=/etc/brightkitchen/fleet.env", "ExecStart=/usr/bin/bk-fleet serve",
		"StateDirectory=brightkitchen-fleet", "ReadWritePaths=/var/lib/brightkitchen-fleet",
		"ProtectSystem=strict", "NoNewPrivileges=true", "PrivateDevices=true", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(b) {
			t.Errorf("bk-fleet.service lacks %s", want)
		}
	}
	env, err := os.ReadFile("deb/bk-fleet/fleet.env")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^BK_DATA=/var/lib/brightkitchen-fleet$`).Match(env) {
		t.Error("fleet.env does not set BK_DATA to the unit's state directory")
	}
}

// The arm64 gateway package installs with dpkg into an arm64 Debian
// bookworm root whose programs run under qemu-user; bk-gateway --version
// and check work there; the maintainer scripts make the user, the
// directories and the config; an upgrade keeps the edited config and
// conffile; remove keeps them, purge deletes them.
func TestDebArm64Root(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("not root: chroot, mount and the Debian root need it (CI runs as root)")
	}
	need(t, "qemu-aarch64-static", "debootstrap", "flock", "chroot")
	ns := newQemuNS(t, "aarch64")
	// The root (made once, then cached) and the packages at the same time:
	// the first run's debootstrap and the cross builds take minutes each.
	var cache string
	var rootErr error
	made := make(chan struct{})
	go func() {
		defer close(made)
		cache, rootErr = ns.output(60*time.Minute, "bash", "../debroot.sh", "arm64")
		cache = strings.TrimSpace(cache)
	}()
	v1 := debs(t, "arm64", "1.0.0", "bk-gateway")["bk-gateway"]
	v2 := debs(t, "arm64", "1.0.1", "bk-gateway")["bk-gateway"]
	<-made
	if rootErr != nil {
		t.Fatalf("scripts/debroot.sh arm64: %v", rootErr)
	}
	checkDepends(t, v1, "adduser", "libc6", "libavcodec59", "libswscale6", "libavutil57", "libstdc++6")

	root := t.TempDir()
	// A copy of the cached root, under the cache's lock shared: the test
	// changes its copy only.
	run(t, 10*time.Minute, nil, "flock", "-s", filepath.Join(filepath.Dir(cache), "arm64.lock"),
		"cp", "-a", "--reflink=auto", cache+"/.", root)
	debDir := filepath.Join(root, "tmp")
	for _, deb := range []string{v1, v2} {
		run(t, time.Minute, nil, "cp", deb, debDir)
	}
	in := func(args ...string) string {
		t.Helper()
		return ns.chroot(t, root, args...)
	}

	if a := strings.TrimSpace(in("dpkg", "--print-architecture")); a != "arm64" {
		t.Fatalf("the root's dpkg is %q, want arm64", a)
	}
	in("dpkg", "-i", "/tmp/"+filepath.Base(v1))
	if v := in("bk-gateway", "--version"); v != "bk-gateway "+stamp+"\n" {
		t.Errorf("bk-gateway --version in the root printed %q", v)
	}
	// The config the postinst made from the example is the sample config.
	if c := in("bk-gateway", "check"); !strings.Contains(c, "/etc/brightkitchen/gateway.yaml: ok") {
		t.Errorf("bk-gateway check printed %q", c)
	}
	// bk-decodecheck decodes a clip with the root's FFmpeg libraries.
	run(t, time.Minute, nil, "cp", "../../hw/camsim/clips/blurred-g1.h264", debDir)
	in("bk-decodecheck", "/tmp/blurred-g1.h264")
	if s := in("stat", "-c", "%U:%G %a", "/etc/brightkitchen/gateway.yaml", "/var/lib/brightkitchen", "/etc/brightkitchen", "/etc/brightkitchen/gateway.env"); s != "bk-gateway:bk-gateway 600\nbk-gateway:bk-gateway 750\nroot:bk-gateway 1775\nroot:bk-gateway 640\n" {
		t.Errorf("owners and modes after install:\n%s", s)
	}
	if u := in("getent", "passwd", "bk-gateway"); !strings.Contains(u, ":/var/lib/brightkitchen:/usr/sbin/nologin") {
		t.Errorf("user bk-gateway: %q", u)
	}

	// Upgrade: the installer's edits survive.
	cfg := filepath.Join(root, "etc/brightkitchen/gateway.yaml")
	env := filepath.Join(root, "etc/brightkitchen/gateway.env")
	edits := map[string]string{cfg: "# edited by the installer\n", env: "BK_LOG_LEVEL=debug\n"}
	for path, line := range edits {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append([]byte(line), b...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in("dpkg", "-i", "/tmp/"+filepath.Base(v2))
	if st := in("dpkg-query", "-W", "-f", "${Version}", "bk-gateway"); st != "1.0.1" {
		t.Errorf("after the upgrade dpkg has version %q", st)
	}
	for path, line := range edits {
		if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, []byte(line)) {
			t.Errorf("the upgrade replaced the edited %s", path)
		}
	}
	if c := in("bk-gateway", "check"); !strings.Contains(c, "ok") {
		t.Errorf("check after the upgrade printed %q", c)
	}

	// Remove keeps config and data; purge deletes them.
	in("dpkg", "-r", "bk-gateway")
	for _, p := range []string{cfg, env, filepath.Join(root, "var/lib/brightkitchen")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after dpkg -r: %v", err)
		}
	}
	in("dpkg", "-P", "bk-gateway")
	for _, p := range []string{cfg, env, filepath.Join(root, "var/lib/brightkitchen"), filepath.Join(root, "etc/brightkitchen")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("after dpkg -P: %s is still there", p)
		}
	}
}

// chrootScript runs "$@" inside the root $1, with /proc and the usual
// /dev nodes mounted there for the command's life (the namespace's mounts
// go with it), and a clean environment.
const chrootScript = `root=$1; shift
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755,size=1m tmpfs "$root/dev"
for d in null zero full random urandom tty; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
ln -s /proc/self/fd "$root/dev/fd"
exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"`

// qemuNS runs commands in namespaces where arch's programs run under
// qemu-user (package qemuns): the root's programs, and whatever they
// start, run there as they would on the board.
type qemuNS struct{ arch string }

func newQemuNS(t testing.TB, arch string) *qemuNS {
	t.Helper()
	ns := &qemuNS{arch: arch}
	if _, err := ns.output(time.Minute, "true"); err != nil {
		t.Skipf("cannot give a user namespace its own binfmt_misc for qemu (Linux 6.7 or later, and user namespaces, are needed): %v", err)
	}
	return ns
}

// output runs a command in the namespace and returns its stdout; its
// error has the command's output.
func (ns *qemuNS) output(limit time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd, err := qemuns.Command(ctx, ns.arch, args...)
	if err != nil {
		return "", err
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w\n%s%s", strings.Join(args, " "), err, out.Bytes(), errb.Bytes())
	}
	return out.String(), nil
}

// run runs a command in the namespace and returns its stdout.
func (ns *qemuNS) run(t testing.TB, limit time.Duration, args ...string) string {
	t.Helper()
	out, err := ns.output(limit, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// chroot runs a command inside root, with /proc and the usual /dev nodes
// mounted there for the command's life (the namespace's mounts go with
// it), and a clean environment.
func (ns *qemuNS) chroot(t testing.TB, root string, args ...string) string {
	t.Helper()
	return ns.run(t, 10*time.Minute, append([]string{"bash", "-c", chrootScript, "chroot", root}, args...)...)
}
