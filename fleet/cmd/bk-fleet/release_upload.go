package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// releaseUpload sends a bundle to a running fleet (POST /api/v1/releases)
// with an admin's bearer token, and prints the release it stored or the
// fleet's reason for refusing it.
func releaseUpload(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("release upload", stderr)
	fleet := fs.String("fleet", "http://127.0.0.1:8080", "the fleet's URL")
	token := fs.String("token", "", "an admin's bearer token (default $BK_ADMIN_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "bk-fleet release upload: want one bundle file")
		return 2
	}
	tok := *token
	if tok == "" {
		tok = os.Getenv("BK_ADMIN_TOKEN")
	}
	if tok == "" {
		fmt.Fprintln(stderr, "bk-fleet release upload: --token or BK_ADMIN_TOKEN is required")
		return 2
	}
	if !strings.HasPrefix(*fleet, "http://") && !strings.HasPrefix(*fleet, "https://") {
		fmt.Fprintf(stderr, "bk-fleet release upload: --fleet %q: want an http:// or https:// URL\n", *fleet)
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet release upload: %v\n", err)
		return 1
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		fmt.Fprintf(stderr, "bk-fleet release upload: %s: not a regular file\n", fs.Arg(0))
		return 1
	}
	req, err := http.NewRequest("POST", strings.TrimRight(*fleet, "/")+"/api/v1/releases", f)
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet release upload: %v\n", err)
		return 2
	}
	req.ContentLength = info.Size()
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := (&http.Client{Timeout: 30 * time.Minute}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet release upload: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		fmt.Fprintf(stderr, "bk-fleet release upload: the fleet refused it (%d): %s\n", resp.StatusCode, e.Error)
		return 1
	}
	var r struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Arch    string `json:"arch"`
		KeyID   string `json:"key_id"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		fmt.Fprintf(stderr, "bk-fleet release upload: the fleet's answer: %v\n", err)
		return 1
	}
	what := "stored"
	if resp.StatusCode == http.StatusOK {
		what = "already stored"
	}
	fmt.Fprintf(stdout, "%s: %s for %s, sha256 %s, signed by key %s\n", what, r.Version, r.Arch, r.ID, r.KeyID)
	return 0
}
