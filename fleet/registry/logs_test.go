package registry

import (
	"fmt"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// A log upload takes its data once, with its own token, within its TTL;
// a gateway keeps its newest KeepLogUploads.
func TestLogUploads(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-1", "")
		addGateway(t, s, "gw-2", "")
		u, tok, err := s.NewLogUpload(ctx, "gw-1", "cmd-1", "admin", t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.LogUploadData(ctx, "gw-1", u.ID); err == nil {
			t.Error("data before the upload")
		}
		wantErr(t, "wrong token", s.StoreLogUpload(ctx, "gw-1", u.ID, "guess", []byte("x"), t0), store.ErrNotFound, u.ID)
		wantErr(t, "other gateway", s.StoreLogUpload(ctx, "gw-2", u.ID, tok, []byte("x"), t0), store.ErrNotFound, u.ID)
		wantErr(t, "too large", s.StoreLogUpload(ctx, "gw-1", u.ID, tok, make([]byte, MaxLogUploadBytes+1), t0),
			store.ErrInvalid, "limit")
		wantErr(t, "late", s.StoreLogUpload(ctx, "gw-1", u.ID, tok, []byte("x"), t0.Add(LogUploadTTL+time.Second)),
			ErrTokenUsed, u.ID)
		if err := s.StoreLogUpload(ctx, "gw-1", u.ID, tok, []byte("gzip data"), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "second use", s.StoreLogUpload(ctx, "gw-1", u.ID, tok, []byte("again"), t0.Add(time.Minute)), ErrTokenUsed, u.ID)
		if b, err := s.LogUploadData(ctx, "gw-1", u.ID); err != nil || string(b) != "gzip data" {
			t.Fatalf("data %q %v", b, err)
		}
		for i := range KeepLogUploads + 2 {
			if _, _, err := s.NewLogUpload(ctx, "gw-1", fmt.Sprint("cmd-x", i), "admin", t0.Add(time.Duration(i+1)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		us, err := s.LogUploads(ctx, "gw-1")
		if err != nil || len(us) != KeepLogUploads || us[0].CmdID != fmt.Sprint("cmd-x", KeepLogUploads+1) {
			t.Fatalf("kept %d uploads (%v), newest %+v", len(us), err, us)
		}
		if _, err := s.LogUploadData(ctx, "gw-1", u.ID); err == nil {
			t.Error("the oldest upload was kept")
		}
	})
}
