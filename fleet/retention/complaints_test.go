package retention

import (
	"errors"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// TestRetainComplaintPhotos files real tickets (fleet/complaints) and
// walks them to their states at chosen times: the photo of a ticket
// answered (replied or rejected) more than a year ago goes, and the
// ticket reports it expired (photo_type kept, Photo's store.ErrExpired);
// an open ticket keeps its photo whatever its age, as does one answered
// recently, and a ticket with no photo is neither counted nor marked.
// Batch and MaxBatches bound a pass; the counts are per kind; a pass
// after the last deletes nothing, and a zero period keeps forever.
func TestRetainComplaintPhotos(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		if _, err := s.PutCanteen(ctx, registry.Canteen{ID: "c1", Name: "No. 1 Primary", District: "xuhui", Active: true}); err != nil {
			t.Fatal(err)
		}
		cs := complaints.New(s.DB)
		ids := map[string]int64{}
		file := func(name string, at time.Time, photo bool, steps ...struct {
			action string
			at     time.Time
		}) {
			t.Helper()
			n := complaints.NewComplaint{CanteenID: "c1", Category: "hygiene", Text: "后厨地面有积水和垃圾 " + name,
				Challenge: "ch-" + name, ChallengeExpires: at.Add(time.Hour)}
			if photo {
				n.Photo, n.PhotoType = []byte("jpeg of "+name), "image/jpeg"
			}
			c, _, err := cs.File(ctx, n, at)
			if err != nil {
				t.Fatalf("file %s: %v", name, err)
			}
			ids[name] = c.ID
			for _, st := range steps {
				if _, err := cs.Step(ctx, c.ID, st.action, "user:li.reg", "note of "+st.action, st.at); err != nil {
					t.Fatalf("%s %s: %v", name, st.action, err)
				}
			}
		}
		type step = struct {
			action string
			at     time.Time
		}
		file("replied-old", daysAgo(500), true, step{complaints.ActionAccept, daysAgo(499)}, step{complaints.ActionReply, daysAgo(400)})
		file("rejected-old", daysAgo(420), true, step{complaints.ActionReject, daysAgo(380)})
		file("received-old", daysAgo(900), true)
		file("handled-old", daysAgo(700), true, step{complaints.ActionAccept, daysAgo(699)}, step{complaints.ActionHandle, daysAgo(690)})
		file("replied-new", daysAgo(800), true, step{complaints.ActionAccept, daysAgo(799)}, step{complaints.ActionReply, daysAgo(364)})
		file("rejected-new", daysAgo(30), true, step{complaints.ActionReject, daysAgo(29)})
		file("nophoto-old", daysAgo(500), false, step{complaints.ActionAccept, daysAgo(499)}, step{complaints.ActionReply, daysAgo(400)})

		// Zero keeps forever, even years later.
		if n, err := s.Retain(ctx, Policy{}, retNow.AddDate(5, 0, 0)); err != nil || sum(n) != 0 {
			t.Fatalf("keep forever: %v, %v", n, err)
		}
		// One row a transaction, one transaction a pass: the two
		// expired photos take two passes.
		small := Policy{ComplaintPhotos: 365 * Day, Batch: 1, MaxBatches: 1}
		for pass := range 2 {
			n, err := s.Retain(ctx, small, retNow)
			if err != nil || n[RetainedComplaintPhotos] != 1 || sum(n) != 1 {
				t.Fatalf("pass %d of batches of 1: %v, %v; want 1 complaint photo", pass, n, err)
			}
		}
		if n, err := s.Retain(ctx, Default(), retNow); err != nil || sum(n) != 0 {
			t.Fatalf("default pass after the last: %v, %v; want nothing", n, err)
		}

		want := map[string]bool{"replied-old": true, "rejected-old": true}
		list, err := cs.List(ctx, complaints.Filter{Limit: store.MaxLimit}, retNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(ids) {
			t.Fatalf("%d tickets listed, want %d", len(list), len(ids))
		}
		for name, id := range ids {
			c, err := cs.Get(ctx, id, retNow)
			if err != nil {
				t.Fatal(err)
			}
			hasPhoto := name != "nophoto-old"
			expired := want[name]
			if c.PhotoExpired != expired || c.HasPhoto != (hasPhoto && !expired) {
				t.Errorf("%s (%s): photo_expired %v, has_photo %v; want expired %v", name, c.State, c.PhotoExpired, c.HasPhoto, expired)
			}
			if hasPhoto && c.PhotoType != "image/jpeg" {
				t.Errorf("%s: photo_type %q, want it kept", name, c.PhotoType)
			}
			for _, l := range list {
				if l.ID == id && (l.PhotoExpired != c.PhotoExpired || l.HasPhoto != c.HasPhoto) {
					t.Errorf("%s: listed with photo_expired %v, has_photo %v; Get says %v, %v", name, l.PhotoExpired, l.HasPhoto, c.PhotoExpired, c.HasPhoto)
				}
			}
			b, typ, err := cs.Photo(ctx, id)
			switch {
			case expired:
				if !errors.Is(err, store.ErrExpired) || b != nil {
					t.Errorf("%s: Photo = %d bytes, %v; want store.ErrExpired", name, len(b), err)
				}
			case !hasPhoto:
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: Photo: %v, want store.ErrNotFound", name, err)
				}
			default:
				if err != nil || string(b) != "jpeg of "+name || typ != "image/jpeg" {
					t.Errorf("%s: Photo = %q %q, %v; want it kept", name, b, typ, err)
				}
			}
		}
		var marked int
		if err := s.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM complaints WHERE photo_expired_at = $1`, store.Ms(retNow)).Scan(&marked); err != nil || marked != 2 {
			t.Errorf("photo_expired_at set to the pass's time on %d rows, %v; want 2", marked, err)
		}
		// Once they are answered long enough, the open ones go too: a year
		// and a day after the late reply.
		late := retNow.Add(2 * Day)
		if _, err := cs.Step(ctx, ids["handled-old"], complaints.ActionReply, "user:li.reg", "done", retNow.Add(-364*Day)); err != nil {
			t.Fatal(err)
		}
		n, err := s.Retain(ctx, Policy{ComplaintPhotos: 365 * Day}, late)
		if err != nil || n[RetainedComplaintPhotos] != 2 || sum(n) != 2 {
			t.Fatalf("two days later: %v, %v; want the replied-new and handled-old photos", n, err)
		}
	})
}
