package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// The gateway and token subcommands: identities made at the fleet host.

func gatewayAdd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("gateway add", stderr)
	id := fs.String("id", "", "gateway id (letters, digits, . _ -)")
	canteen := fs.String("canteen", "", "canteen id the gateway belongs to")
	asJSON := fs.Bool("json", false, "print the credentials as JSON")
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, "gateway add", stderr) {
		return 2
	}
	if !wire.ValidID(*id) {
		fmt.Fprintf(stderr, "bk-fleet gateway add: --id %q: want 1-64 letters, digits, '.', '_' or '-'\n", *id)
		return 2
	}
	if strings.HasPrefix(*id, "bk-fleet") {
		fmt.Fprintf(stderr, "bk-fleet gateway add: --id %q: ids starting with bk-fleet are reserved for the fleet's own MQTT client\n", *id)
		return 2
	}
	if !wire.ValidID(*canteen) {
		fmt.Fprintf(stderr, "bk-fleet gateway add: --canteen %q: want 1-64 letters, digits, '.', '_' or '-'\n", *canteen)
		return 2
	}
	return db.run("gateway add", stderr, func(ctx context.Context, st *stores) int {
		user, pass, err := st.AddGateway(ctx, *id, *canteen)
		if errors.Is(err, store.ErrExists) {
			fmt.Fprintf(stderr, "bk-fleet gateway add: gateway %q already exists\n", *id)
			return 1
		} else if err != nil {
			fmt.Fprintf(stderr, "bk-fleet gateway add: %v\n", err)
			return 1
		}
		if *asJSON {
			_ = json.NewEncoder(stdout).Encode(map[string]string{"gateway_id": *id, "canteen_id": *canteen, "username": user, "password": pass})
			return 0
		}
		fmt.Fprintf(stdout, "gateway %s (canteen %s) created. Put these in its config under broker:\n  username: %s\n  password: %s\n", *id, *canteen, user, pass)
		return 0
	})
}

func gatewayList(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("gateway list", stderr)
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, "gateway list", stderr) {
		return 2
	}
	return db.run("gateway list", stderr, func(ctx context.Context, st *stores) int {
		gws, err := st.ListGateways(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "bk-fleet gateway list: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCANTEEN\tONLINE\tVERSION\tLAST SEEN\tCAMERAS")
		for _, g := range gws {
			seen := "never"
			if !g.LastSeen.IsZero() {
				seen = g.LastSeen.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%d\n", g.ID, g.CanteenID, g.Online, g.Version, seen, len(g.Cameras))
		}
		_ = tw.Flush()
		return 0
	})
}

func tokenAdd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token add", stderr)
	role := fs.String("role", "", "admin, regulator, operator or parent")
	canteens := fs.String("canteen", "", "comma-separated canteen ids the token is bound to (operator, parent)")
	districts := fs.String("district", "", "comma-separated districts a regulator token covers (* = the whole city)")
	label := fs.String("label", "", "who or what the token is for")
	ttl := fs.String("ttl", "2160h", `how long the token is valid (default 90 days); "never" (or 0) for until revoked`)
	asJSON := fs.Bool("json", false, "print the token as JSON")
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, "token add", stderr) {
		return 2
	}
	t := auth.Token{Role: *role, Label: *label, Canteens: splitFlag(*canteens), Districts: splitFlag(*districts)}
	if *ttl != "never" {
		d, err := time.ParseDuration(*ttl)
		if err != nil || d < 0 {
			fmt.Fprintf(stderr, "bk-fleet token add: --ttl %q: want a duration such as 720h, or never\n", *ttl)
			return 2
		}
		if d > 0 {
			t.ExpiresAt = time.Now().Add(d)
		}
	}
	return db.run("token add", stderr, func(ctx context.Context, st *stores) int {
		secret, t, err := st.AddToken(ctx, t)
		if err != nil {
			fmt.Fprintf(stderr, "bk-fleet token add: %v\n", err)
			return 1
		}
		if *asJSON {
			_ = json.NewEncoder(stdout).Encode(map[string]any{"id": t.ID, "role": t.Role, "canteens": t.Canteens,
				"districts": t.Districts, "token": secret})
			return 0
		}
		expires := "never expires"
		if !t.ExpiresAt.IsZero() {
			expires = "expires " + t.ExpiresAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(stdout, "token %s (%s, %s) created; it is shown only now:\n  %s\n", t.ID, t.Role, expires, secret)
		return 0
	})
}

func tokenList(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token list", stderr)
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, "token list", stderr) {
		return 2
	}
	return db.run("token list", stderr, func(ctx context.Context, st *stores) int {
		ts, err := st.ListTokens(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "bk-fleet token list: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tCANTEENS\tDISTRICTS\tLABEL\tEXPIRES")
		for _, t := range ts {
			expires := "never"
			if !t.ExpiresAt.IsZero() {
				expires = t.ExpiresAt.Local().Format(time.DateTime)
				if !time.Now().Before(t.ExpiresAt) {
					expires += " (expired)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%q\t%s\n", t.ID, t.Role, strings.Join(t.Canteens, ","),
				strings.Join(t.Districts, ","), t.Label, expires)
		}
		_ = tw.Flush()
		return 0
	})
}

// tokenRevoke deletes tokens by id: they stop working at once, and a
// running fleet ends the live views they started within its recheck
// period (30 s).
func tokenRevoke(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token revoke", stderr)
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "bk-fleet token revoke: want the id of a token (bk-fleet token list)")
		return 2
	}
	return db.run("token revoke", stderr, func(ctx context.Context, st *stores) int {
		for _, id := range fs.Args() {
			if err := st.RevokeToken(ctx, id); err != nil {
				fmt.Fprintf(stderr, "bk-fleet token revoke: %v\n", err)
				return 1
			}
			fmt.Fprintf(stdout, "token %s revoked\n", id)
		}
		return 0
	})
}
