package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The admin subcommands run as an installer runs them, on a fresh SQLite
// store in a temporary data directory; their effects are checked through
// their output and the list commands, not the store's methods.

// fleetCmd runs bk-fleet with args, the data directory put after the
// subcommand's name(s), and stdin as the command's standard input.
type fleetCmd struct {
	t    *testing.T
	data string
}

func newFleetCmd(t *testing.T) fleetCmd { return fleetCmd{t, t.TempDir()} }

// run runs `bk-fleet cmd sub --data DIR args...` and returns the exit code,
// stdout and stderr.
func (c fleetCmd) run(stdin string, cmd, sub string, args ...string) (int, string, string) {
	c.t.Helper()
	f, err := os.Create(filepath.Join(c.t.TempDir(), "stdin"))
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := f.WriteString(stdin); err != nil {
		c.t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	var out, errOut bytes.Buffer
	code := run(append([]string{cmd, sub, "--data", c.data}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestDispatch: bk-fleet with no command, help, --version, and unknown
// commands or subcommands.
func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"--version"}, 0, "bk-fleet ", ""},
		{[]string{"version"}, 0, "bk-fleet ", ""},
		{[]string{"help"}, 0, "bk-fleet gateway add --id ID --canteen CANTEEN", ""},
		{[]string{"-h"}, 0, "Usage:", ""},
		{[]string{"start"}, 2, "", `bk-fleet: unknown command "start" (want serve, gateway, token, user, release or --version)`},
		{[]string{"gateway"}, 2, "", "bk-fleet gateway: want add or list"},
		{[]string{"gateway", "remove"}, 2, "", `bk-fleet gateway: unknown command "remove" (want add or list)`},
		{[]string{"token"}, 2, "", "bk-fleet token: want add, list or revoke"},
		{[]string{"token", "delete"}, 2, "", `bk-fleet token: unknown command "delete" (want add, list or revoke)`},
		{[]string{"user"}, 2, "", "bk-fleet user: want add, list, password or delete"},
		{[]string{"user", "rm"}, 2, "", `bk-fleet user: unknown command "rm" (want add, list, password or delete)`},
	} {
		var out, errOut bytes.Buffer
		code := run(tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) ||
			tc.stdout == "" && out.Len() > 0 || tc.stderr == "" && errOut.Len() > 0 {
			t.Errorf("bk-fleet %q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errOut.String(),
				tc.code, tc.stdout, tc.stderr)
		}
	}
}

// TestGatewayCommands: gateway add prints a gateway's MQTT credentials
// (as text or JSON) once and gateway list shows it; a second add of the
// same id, bad ids, missing flags and stray arguments are refused and
// change nothing.
func TestGatewayCommands(t *testing.T) {
	c := newFleetCmd(t)
	code, out, errOut := c.run("", "gateway", "add", "--id", "gw-1", "--canteen", "school-1")
	creds := regexp.MustCompile(`^gateway gw-1 \(canteen school-1\) created\. Put these in its config under broker:\n  username: (\S+)\n  password: (\S+)\n$`).FindStringSubmatch(out)
	if code != 0 || creds == nil || errOut != "" {
		t.Fatalf("gateway add: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = c.run("", "gateway", "add", "--id", "gw-2", "--canteen", "school-2", "--json")
	var js map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || js["gateway_id"] != "gw-2" || js["canteen_id"] != "school-2" ||
		js["username"] == "" || len(js["password"]) < 16 || js["password"] == creds[2] {
		t.Fatalf("gateway add --json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--id", "gw-1", "--canteen", "school-9"}, 1, `bk-fleet gateway add: gateway "gw-1" already exists`},
		{[]string{"--canteen", "school-1"}, 2, `bk-fleet gateway add: --id "": want 1-64 letters`},
		{[]string{"--id", "gw 3", "--canteen", "school-1"}, 2, `--id "gw 3": want 1-64 letters`},
		{[]string{"--id", "bk-fleet-1", "--canteen", "school-1"}, 2, "ids starting with bk-fleet are reserved"},
		{[]string{"--id", "gw-3"}, 2, `bk-fleet gateway add: --canteen "": want 1-64 letters`},
		{[]string{"--id", "gw-3", "--canteen", "a/b"}, 2, `--canteen "a/b"`},
		{[]string{"--id", "gw-3", "--canteen", "school-3", "--school", "x"}, 2, "flag provided but not defined: -school"},
		{[]string{"--id", "gw-3", "--canteen", "school-3", "--json", "true"}, 2, `bk-fleet gateway add: unexpected argument "true"`},
	} {
		code, out, errOut := c.run("", "gateway", "add", tc.args...)
		if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("gateway add %q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}

	code, out, errOut = c.run("", "gateway", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || errOut != "" || len(lines) != 3 ||
		strings.Join(strings.Fields(lines[0]), " ") != "ID CANTEEN ONLINE VERSION LAST SEEN CAMERAS" ||
		strings.Join(strings.Fields(lines[1]), " ") != "gw-1 school-1 false never 0" ||
		strings.Join(strings.Fields(lines[2]), " ") != "gw-2 school-2 false never 0" {
		t.Fatalf("gateway list: exit %d, stderr %q, stdout\n%s", code, errOut, out)
	}
	if code, _, errOut := c.run("", "gateway", "list", "gw-1"); code != 2 || !strings.Contains(errOut, `unexpected argument "gw-1"`) {
		t.Errorf("gateway list gw-1: exit %d, stderr %q", code, errOut)
	}
}

// TestUserCommands: user add reads the password from stdin and creates a
// web user; user list shows it (as a table or JSON); user password and
// user delete act on a login and say so; bad roles, short passwords,
// missing logins and unknown users are refused with the reason.
func TestUserCommands(t *testing.T) {
	c := newFleetCmd(t)
	// an operator's canteens must be registered: gateway add does that
	for _, school := range []string{"school-1", "school-2"} {
		if code, _, errOut := c.run("", "gateway", "add", "--id", "gw-"+school, "--canteen", school); code != 0 {
			t.Fatalf("gateway add: %d %s", code, errOut)
		}
	}
	const pw = "correct horse battery\n"
	for _, args := range [][]string{
		{"--login", "ops1", "--role", "operator", "--name", "Li Wei", "--canteen", "school-1,school-2"},
		{"--login", "reg1", "--role", "regulator", "--district", "xuhui"},
	} {
		code, out, errOut := c.run(pw, "user", "add", args...)
		login, role := args[1], args[3]
		if code != 0 || out != "user "+login+" ("+role+") created\n" || errOut != "" {
			t.Fatalf("user add %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{pw, []string{"--login", "ops1", "--role", "operator", "--canteen", "school-1"}, 1, `bk-fleet user add: add user: user "ops1": already exists`},
		{pw, []string{"--login", "x1", "--role", "chef"}, 1, `bk-fleet user add: add user: invalid: role "chef": want one of admin, regulator, operator, parent`},
		{pw, []string{"--login", "x2", "--role", "operator"}, 1, "canteens: an operator needs at least one"},
		{pw, []string{"--login", "x2", "--role", "operator", "--canteen", "school-9"}, 1, `canteens[0] "school-9": no such canteen`},
		{pw, []string{"--login", "x3", "--role", "regulator"}, 1, "districts: a regulator needs at least one"},
		{"short\n", []string{"--login", "x4", "--role", "admin"}, 1, "password: want at least"},
		{"", []string{"--login", "x5", "--role", "admin"}, 2, "bk-fleet user add: read password from stdin: EOF"},
		{pw, []string{"--login", "x6", "--role", "admin", "--password", "pw"}, 2, "flag provided but not defined: -password"},
		{pw, []string{"--login", "x7", "--role", "admin", "extra"}, 2, `bk-fleet user add: unexpected argument "extra"`},
	} {
		code, out, errOut := c.run(tc.stdin, "user", "add", tc.args...)
		if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("user add %q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}

	code, out, errOut := c.run("", "user", "list")
	if code != 0 || errOut != "" || !regexp.MustCompile(`(?m)^ops1 +operator +Li Wei +school-1,school-2 +false$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^reg1 +regulator +xuhui +false$`).MatchString(out) || strings.Count(out, "\n") != 3 {
		t.Fatalf("user list: exit %d, stderr %q, stdout\n%s", code, errOut, out)
	}
	code, out, _ = c.run("", "user", "list", "--json")
	var users []struct {
		ID, Role string
		Canteens []string
	}
	if err := json.Unmarshal([]byte(out), &users); code != 0 || err != nil || len(users) != 2 {
		t.Fatalf("user list --json: exit %d, %v, stdout %q", code, err, out)
	}
	if strings.Contains(out, "correct horse") {
		t.Errorf("user list --json shows a password: %s", out)
	}
	if code, _, errOut := c.run("", "user", "list", "--json", "true"); code != 2 || !strings.Contains(errOut, `unexpected argument "true"`) {
		t.Errorf("user list --json true: exit %d, stderr %q", code, errOut)
	}

	for _, tc := range []struct {
		stdin, sub string
		args       []string
		code       int
		out, err   string
	}{
		{"a new long password\n", "password", []string{"--login", "ops1"}, 0, "user password: done for ops1\n", ""},
		{"tiny\n", "password", []string{"--login", "ops1"}, 1, "", "bk-fleet user password: set password: invalid: password: want at least 8 characters"},
		{"a new long password\n", "password", []string{"--login", "nobody"}, 1, "", `bk-fleet user password: set password: user "nobody": not found`},
		{"", "password", []string{"--login", "ops1"}, 1, "", "read password from stdin: EOF"},
		{"", "password", nil, 2, "", "bk-fleet user password: --login is required"},
		{"", "delete", nil, 2, "", "bk-fleet user delete: --login is required"},
		{"", "delete", []string{"--login", "nobody"}, 1, "", `bk-fleet user delete: delete user: user "nobody": not found`},
		{"", "delete", []string{"--login", "reg1", "ops1"}, 2, "", `bk-fleet user delete: unexpected argument "ops1"`},
		{"", "delete", []string{"--login", "reg1"}, 0, "user delete: done for reg1\n", ""},
		{"", "delete", []string{"--login", "reg1"}, 1, "", `bk-fleet user delete: delete user: user "reg1": not found`},
	} {
		code, out, errOut := c.run(tc.stdin, "user", tc.sub, tc.args...)
		if code != tc.code || out != tc.out || !strings.Contains(errOut, tc.err) || tc.err == "" && errOut != "" {
			t.Errorf("user %s %q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.sub, tc.args, code, out, errOut, tc.code, tc.out, tc.err)
		}
	}
	code, out, _ = c.run("", "user", "list")
	if code != 0 || strings.Contains(out, "reg1") || !strings.Contains(out, "ops1") {
		t.Errorf("user list after deleting reg1: exit %d\n%s", code, out)
	}
}

// TestTokenBadInput: token add and revoke refuse what they cannot use.
func TestTokenBadInput(t *testing.T) {
	c := newFleetCmd(t)
	for _, tc := range []struct {
		sub  string
		args []string
		code int
		want string
	}{
		{"add", nil, 1, `bk-fleet token add: add token: invalid: role "": want one of admin, regulator, operator, parent`},
		{"add", []string{"--role", "chef"}, 1, `bk-fleet token add: add token: invalid: role "chef"`},
		{"add", []string{"--role", "operator"}, 1, "bk-fleet token add: add token: invalid: role operator needs at least one canteen (--canteen)"},
		{"add", []string{"--role", "admin", "--ttl", "-1h"}, 2, `bk-fleet token add: --ttl "-1h": want a duration`},
		{"add", []string{"--role", "admin", "--json", "true"}, 2, `bk-fleet token add: unexpected argument "true"`},
		{"add", []string{"--role", "admin", "--expires", "1h"}, 2, "flag provided but not defined: -expires"},
		{"list", []string{"all"}, 2, `bk-fleet token list: unexpected argument "all"`},
		{"revoke", nil, 2, "bk-fleet token revoke: want the id of a token"},
		{"revoke", []string{"no-such-token"}, 1, `bk-fleet token revoke: token "no-such-token": not found`},
	} {
		code, out, errOut := c.run("", "token", tc.sub, tc.args...)
		if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("token %s %q: exit %d, stdout %q, stderr %q; want %d and %q", tc.sub, tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
	if code, out, _ := c.run("", "token", "list"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("token list after refusals: exit %d\n%s", code, out)
	}
}

// TestStoreDoesNotOpen: a data directory that cannot be made fails the
// command with exit 1, naming the command and the store.
func TestStoreDoesNotOpen(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"gateway", "list"}, {"gateway", "add", "--id", "gw-1", "--canteen", "c"}, {"token", "list"}, {"user", "list"},
	} {
		var out, errOut bytes.Buffer
		code := run(append(args, "--data", filepath.Join(file, "data")), &out, &errOut)
		want := "bk-fleet " + strings.Join(args[:2], " ") + ": open store: mkdir "
		if code != 1 || out.Len() != 0 || !strings.HasPrefix(errOut.String(), want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", args, code, errOut.String(), want)
		}
	}
}
