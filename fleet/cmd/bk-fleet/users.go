package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
)

// readPassword reads one line from stdin (a pipe, or typed with echo: the
// installer's shell history should not hold it, so it is never a flag).
func readPassword(stderr io.Writer, prompt string) (string, error) {
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprint(stderr, prompt)
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func splitFlag(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func userAdd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("user add", stderr)
	login := fs.String("login", "", "the login name (letters, digits, '.', '_', '-')")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "admin, regulator, operator or parent")
	canteens := fs.String("canteen", "", "comma-separated canteen ids (operator; parent: one school)")
	districts := fs.String("district", "", "comma-separated districts (regulator; * = the whole city)")
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, "user add", stderr) {
		return 2
	}
	pw, err := readPassword(stderr, "password: ")
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet user add: %v\n", err)
		return 2
	}
	return db.run("user add", stderr, func(ctx context.Context, st *stores) int {
		u, err := st.AddUser(ctx, auth.User{ID: *login, Name: *name, Role: *role, Canteens: splitFlag(*canteens),
			Districts: splitFlag(*districts)}, pw)
		if err != nil {
			fmt.Fprintf(stderr, "bk-fleet user add: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "user %s (%s) created\n", u.ID, u.Role)
		return 0
	})
}

func userList(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("user list", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, "user list", stderr) {
		return 2
	}
	return db.run("user list", stderr, func(ctx context.Context, st *stores) int {
		us, err := st.ListUsers(ctx, auth.UserFilter{})
		if err != nil {
			fmt.Fprintf(stderr, "bk-fleet user list: %v\n", err)
			return 1
		}
		if *asJSON {
			_ = json.NewEncoder(stdout).Encode(us)
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tROLE\tNAME\tCANTEENS\tDISTRICTS\tDISABLED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", u.ID, u.Role, u.Name, strings.Join(u.Canteens, ","),
				strings.Join(u.Districts, ","), u.Disabled)
		}
		_ = tw.Flush()
		return 0
	})
}

func userPassword(args []string, stdout, stderr io.Writer) int {
	return userEdit("user password", args, stdout, stderr, func(ctx context.Context, st *stores, login string) error {
		pw, err := readPassword(stderr, "new password: ")
		if err != nil {
			return err
		}
		return st.SetPassword(ctx, login, pw)
	})
}

func userDelete(args []string, stdout, stderr io.Writer) int {
	return userEdit("user delete", args, stdout, stderr, func(ctx context.Context, st *stores, login string) error {
		return st.DeleteUser(ctx, login)
	})
}

func userEdit(name string, args []string, stdout, stderr io.Writer, do func(context.Context, *stores, string) error) int {
	fs := newFlags(name, stderr)
	login := fs.String("login", "", "the user's login")
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, name, stderr) {
		return 2
	}
	if *login == "" {
		fmt.Fprintf(stderr, "bk-fleet %s: --login is required\n", name)
		return 2
	}
	return db.run(name, stderr, func(ctx context.Context, st *stores) int {
		if err := do(ctx, st, *login); err != nil {
			fmt.Fprintf(stderr, "bk-fleet %s: %v\n", name, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: done for %s\n", name, *login)
		return 0
	})
}
