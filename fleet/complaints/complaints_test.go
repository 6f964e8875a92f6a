package complaints_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/rates"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

var cst = time.FixedZone("CST", 8*3600)

type world struct {
	db  *store.DB
	reg *registry.Registry
	c   *complaints.Complaints
	seq int
}

func open(t *testing.T, url string, canteens ...registry.Canteen) *world {
	t.Helper()
	db := storetest.Open(t, url)
	w := &world{db: db, reg: registry.New(db), c: complaints.New(db)}
	for _, c := range canteens {
		c.Active = true
		if _, err := w.reg.PutCanteen(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// file files a complaint about canteen at `at` with a fresh challenge.
func (w *world) file(t *testing.T, canteen string, at time.Time, mod ...func(*complaints.NewComplaint)) (complaints.Complaint, string) {
	t.Helper()
	w.seq++
	n := complaints.NewComplaint{CanteenID: canteen, Category: "hygiene", Text: "后厨地面有积水和垃圾",
		Challenge: fmt.Sprintf("ch-%d", w.seq), ChallengeExpires: at.Add(time.Hour)}
	for _, m := range mod {
		m(&n)
	}
	c, code, err := w.c.File(t.Context(), n, at)
	if err != nil {
		t.Fatalf("file: %v", err)
	}
	return c, code
}

func (w *world) step(t *testing.T, id int64, action, note string, at time.Time) complaints.Complaint {
	t.Helper()
	c, err := w.c.Step(t.Context(), id, action, "user:li.reg", note, at)
	if err != nil {
		t.Fatalf("%s %d: %v", action, id, err)
	}
	return c
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestComplaintLifecycle files a ticket, reads it by its code (as typed,
// in lower case without dashes), walks it through its states with their
// history, refuses the steps its state does not allow, and scopes the
// list by district.
func TestComplaintLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		w := open(t, url, registry.Canteen{ID: "c-xh", Name: "徐汇一小", Category: "school", District: "徐汇区"},
			registry.Canteen{ID: "c-mh", Name: "闵行二小", Category: "school", District: "闵行区"})
		// Friday 17:00 CST: accept by Monday 17:00, reply within 7 days.
		fri := time.Date(2026, 3, 6, 17, 0, 0, 0, cst)
		c, code := w.file(t, "c-xh", fri, func(n *complaints.NewComplaint) {
			n.Contact, n.Photo, n.PhotoType, n.Addr = "13800000000", []byte("\xff\xd8photo"), "image/jpeg", "192.0.2.1"
		})
		if len(code) != 14 || strings.Count(code, "-") != 2 {
			t.Fatalf("code %q: want XXXX-XXXX-XXXX", code)
		}
		if want := time.Date(2026, 3, 9, 17, 0, 0, 0, cst); !c.AcceptDue.Equal(want) {
			t.Errorf("accept due %v, want %v (the next working day)", c.AcceptDue, want)
		}
		if want := fri.Add(7 * 24 * time.Hour); !c.ReplyDue.Equal(want) {
			t.Errorf("reply due %v, want %v", c.ReplyDue, want)
		}
		if c.State != complaints.StateReceived || c.District != "徐汇区" || !c.HasPhoto || c.Contact != "13800000000" {
			t.Errorf("filed: %+v", c)
		}
		typed := strings.ToLower(strings.ReplaceAll(code, "-", ""))
		got, err := w.c.ByCode(t.Context(), typed, fri)
		if err != nil || got.ID != c.ID {
			t.Fatalf("by code %q: %+v %v", typed, got, err)
		}
		if _, err := w.c.ByCode(t.Context(), "AAAA-AAAA-AAAA", fri); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}
		if _, err := w.c.ByCode(t.Context(), "not a code", fri); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("malformed code: %v", err)
		}
		// Overdue for acceptance after Monday 17:00.
		if got, _ := w.c.Get(t.Context(), c.ID, time.Date(2026, 3, 9, 17, 1, 0, 0, cst)); got.Overdue != "accept" {
			t.Errorf("Monday 17:01: overdue %q, want accept", got.Overdue)
		}

		// Steps out of order are refused.
		if _, err := w.c.Step(t.Context(), c.ID, complaints.ActionReply, "user:li.reg", "已处理", fri); !errors.Is(err, store.ErrWrongState) {
			t.Errorf("reply before accept: %v", err)
		}
		if _, err := w.c.Step(t.Context(), c.ID, complaints.ActionHandle, "user:li.reg", "", fri); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("handle without a note: %v", err)
		}
		mon := time.Date(2026, 3, 9, 9, 0, 0, 0, cst)
		w.step(t, c.ID, complaints.ActionAccept, "", mon)
		if _, err := w.c.OperatorAccount(t.Context(), c.ID, "user:zhang.op", "当天已清理并消毒", mon.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		w.step(t, c.ID, complaints.ActionHandle, "现场检查：已整改", mon.Add(2*time.Hour))
		r := w.step(t, c.ID, complaints.ActionReply, "经现场核查，问题属实，已责令整改。", mon.Add(3*time.Hour))
		if r.State != complaints.StateReplied || r.Reply == "" || r.OperatorAccount != "当天已清理并消毒" || r.Overdue != "" {
			t.Errorf("replied: %+v", r)
		}
		if _, err := w.c.Step(t.Context(), c.ID, complaints.ActionReject, "user:li.reg", "x", mon); !errors.Is(err, store.ErrWrongState) {
			t.Errorf("reject after reply: %v", err)
		}
		if _, err := w.c.OperatorAccount(t.Context(), c.ID, "user:zhang.op", "late", mon); !errors.Is(err, store.ErrWrongState) {
			t.Errorf("account after reply: %v", err)
		}
		h, err := w.c.History(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range h {
			acts = append(acts, e.Action)
		}
		if got := strings.Join(acts, ","); got != "file,accept,operator_account,handle,reply" {
			t.Errorf("history %s", got)
		}
		photo, typ, err := w.c.Photo(t.Context(), c.ID)
		if err != nil || typ != "image/jpeg" || string(photo) != "\xff\xd8photo" {
			t.Errorf("photo %q %q %v", photo, typ, err)
		}

		// Scope: 闵行区's regulator does not see 徐汇区's ticket.
		w.file(t, "c-mh", fri)
		for _, tc := range []struct {
			scope registry.Scope
			want  int
		}{{registry.Scope{}, 2}, {registry.Scope{Districts: []string{"徐汇区"}}, 1}, {registry.Scope{Districts: []string{"闵行区"}}, 1},
			{registry.Scope{Canteens: []string{"c-mh"}}, 1}, {registry.Scope{Districts: []string{}}, 0}} {
			l, err := w.c.List(t.Context(), complaints.Filter{Scope: tc.scope}, fri)
			if err != nil || len(l) != tc.want {
				t.Errorf("scope %+v: %d tickets (%v), want %d", tc.scope, len(l), err, tc.want)
			}
			for _, x := range l {
				if tc.scope.Districts != nil && x.District != tc.scope.Districts[0] {
					t.Errorf("scope %+v: ticket of %s", tc.scope, x.District)
				}
			}
		}
	})
}

// TestComplaintAbuse: a challenge is spent once, even by filers racing
// with it; an address files at most PerAddress an hour; an unknown or
// inactive canteen and bad fields are refused; nothing of a refused
// complaint is stored.
func TestComplaintAbuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		w := open(t, url, registry.Canteen{ID: "c-xh", Category: "school", District: "徐汇区"},
			registry.Canteen{ID: "c-old", Category: "school", District: "徐汇区"})
		if _, err := w.reg.PutCanteen(t.Context(), registry.Canteen{ID: "c-old", Category: "school", District: "徐汇区", Active: false}); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 3, 6, 10, 0, 0, 0, cst)
		n := complaints.NewComplaint{CanteenID: "c-xh", Category: "pests", Text: "看见老鼠在厨房", Challenge: "same",
			ChallengeExpires: now.Add(time.Hour), Photo: []byte("photo"), PhotoType: "image/png"}
		// Eight filers race with one challenge: exactly one ticket.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, used := 0, 0
		for range 8 {
			wg.Go(func() {
				_, _, err := w.c.File(context.Background(), n, now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, complaints.ErrChallengeUsed):
					used++
				default:
					t.Errorf("racing filer: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || used != 7 {
			t.Errorf("one challenge, 8 filers: %d filed, %d refused as used; want 1 and 7", ok, used)
		}
		if got := count(t, w.db, "complaints"); got != 1 {
			t.Errorf("%d tickets stored, want 1", got)
		}

		// Per address: 5 an hour, then refused, the 6th leaving nothing.
		w.c.Settings.PerAddress = 5
		addr := func(n *complaints.NewComplaint) { n.Addr = "198.51.100.7" }
		for i := range 5 {
			w.file(t, "c-xh", now.Add(time.Duration(i)*time.Minute), addr)
		}
		before := count(t, w.db, "complaint_challenges")
		_, _, err := w.c.File(t.Context(), complaints.NewComplaint{CanteenID: "c-xh", Category: "other", Text: "第六次投诉内容",
			Challenge: "sixth", ChallengeExpires: now.Add(time.Hour), Addr: "198.51.100.7"}, now.Add(10*time.Minute))
		if !errors.Is(err, complaints.ErrTooMany) {
			t.Errorf("6th from one address in an hour: %v", err)
		}
		if got := count(t, w.db, "complaint_challenges"); got != before {
			t.Errorf("a refused complaint spent its challenge: %d → %d", before, got)
		}
		// An hour after the first, the address may file again.
		w.file(t, "c-xh", now.Add(61*time.Minute), addr)

		for _, tc := range []struct {
			name string
			mod  func(*complaints.NewComplaint)
			want error
		}{
			{"unknown canteen", func(n *complaints.NewComplaint) { n.CanteenID = "c-none" }, store.ErrInvalid},
			{"inactive canteen", func(n *complaints.NewComplaint) { n.CanteenID = "c-old" }, store.ErrInvalid},
			{"category", func(n *complaints.NewComplaint) { n.Category = "bribery" }, store.ErrInvalid},
			{"short text", func(n *complaints.NewComplaint) { n.Text = "差" }, store.ErrInvalid},
			{"long text", func(n *complaints.NewComplaint) { n.Text = strings.Repeat("脏", complaints.MaxText+1) }, store.ErrInvalid},
			{"bad UTF-8", func(n *complaints.NewComplaint) { n.Text = "abc\xffdefgh" }, store.ErrInvalid},
			{"long contact", func(n *complaints.NewComplaint) { n.Contact = strings.Repeat("1", complaints.MaxContact+1) }, store.ErrInvalid},
			{"photo type", func(n *complaints.NewComplaint) { n.Photo, n.PhotoType = []byte("gif"), "image/gif" }, store.ErrInvalid},
			{"no challenge", func(n *complaints.NewComplaint) { n.Challenge = "" }, store.ErrInvalid},
		} {
			before := count(t, w.db, "complaints")
			n := complaints.NewComplaint{CanteenID: "c-xh", Category: "other", Text: "正常的投诉内容", Challenge: "bad-" + tc.name,
				ChallengeExpires: now.Add(time.Hour)}
			tc.mod(&n)
			if _, _, err := w.c.File(t.Context(), n, now); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if got := count(t, w.db, "complaints"); got != before {
				t.Errorf("%s: stored a ticket", tc.name)
			}
		}
	})
}

// TestReplyRates checks the reply rates of a fixture against numbers
// worked out by hand.
//
// Canteens: A (school, 徐汇区), B (school, 闵行区), C (hospital, 徐汇区),
// D (school, 徐汇区, deactivated after its ticket was filed). Period
// 2026-03-02 (Mon) to 03-03 (Tue), local dates in Asia/Shanghai; Now
// 2026-03-20 12:00 CST. Reply deadline 7 days after filing.
//
//	#  canteen received (CST)   answered (CST)         counts on  replied  on time
//	1  A       03-02 09:00      reply 03-04 10:00      03-02      yes      yes
//	2  A       03-02 10:00      reply 03-12 10:00      03-02      yes      no  (due 03-09 10:00)
//	3  A       03-02 11:00      never                  03-02      no       no
//	4  A       03-03 09:00      reject 03-03 12:00     03-03      yes      yes (a reason is an answer)
//	5  B       03-02 09:00      reply 03-09 09:00      03-02      yes      yes (exactly at the deadline)
//	6  C       03-03 23:30      reply 03-05 09:00      03-03      yes      yes (15:30 UTC: still 03-03 locally)
//	7  A       03-04 01:00      reply 03-04 09:00      03-04      -        -   (17:00 UTC 03-03, but 03-04 locally: outside)
//	8  A       03-01 23:59      reply 03-02 09:00      03-01      -        -   (before the period)
//	9  A       03-03 10:00      reply 03-25 10:00      03-03      no       no  (answered after Now)
//	10 D       03-02 09:00      never                  -          -        -   (inactive canteen: not in scope)
//
// Groups, sorted by category then district:
//
//	hospital 徐汇区 (C): 03-02 0/0 0/0; 03-03 #6: reply 1/1, on time 1/1. Total 1/1, 1/1.
//	school   闵行区 (B): 03-02 #5: 1/1, 1/1; 03-03 0/0. Total 1/1, 1/1.
//	school   徐汇区 (A): 03-02 #1 #2 #3: reply 2/3, on time 1/3;
//	                     03-03 #4 #9: reply 1/2, on time 1/2. Total 3/5, 2/5.
//
// Days (all groups): 03-02 #1 #2 #3 #5: reply 3/4, on time 2/4;
// 03-03 #4 #6 #9: reply 2/3, on time 2/3. Period: reply 5/7, on time 4/7.
func TestReplyRates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		w := open(t, url, registry.Canteen{ID: "A", Category: "school", District: "徐汇区"},
			registry.Canteen{ID: "B", Category: "school", District: "闵行区"},
			registry.Canteen{ID: "C", Category: "hospital", District: "徐汇区"},
			registry.Canteen{ID: "D", Category: "school", District: "徐汇区"})
		at := func(day, hour, minute int) time.Time { return time.Date(2026, 3, day, hour, minute, 0, 0, cst) }
		type ans struct {
			action string
			at     time.Time
		}
		tickets := []struct {
			canteen  string
			received time.Time
			answer   *ans
		}{
			{"A", at(2, 9, 0), &ans{complaints.ActionReply, at(4, 10, 0)}},
			{"A", at(2, 10, 0), &ans{complaints.ActionReply, at(12, 10, 0)}},
			{"A", at(2, 11, 0), nil},
			{"A", at(3, 9, 0), &ans{complaints.ActionReject, at(3, 12, 0)}},
			{"B", at(2, 9, 0), &ans{complaints.ActionReply, at(9, 9, 0)}},
			{"C", at(3, 23, 30), &ans{complaints.ActionReply, at(5, 9, 0)}},
			{"A", at(4, 1, 0), &ans{complaints.ActionReply, at(4, 9, 0)}},
			{"A", at(1, 23, 59), &ans{complaints.ActionReply, at(2, 9, 0)}},
			{"A", at(3, 10, 0), &ans{complaints.ActionReply, at(25, 10, 0)}},
			{"D", at(2, 9, 0), nil},
		}
		for _, tk := range tickets {
			c, _ := w.file(t, tk.canteen, tk.received)
			if tk.answer == nil {
				continue
			}
			if tk.answer.action == complaints.ActionReply {
				w.step(t, c.ID, complaints.ActionAccept, "", tk.received.Add(time.Minute))
			}
			w.step(t, c.ID, tk.answer.action, "答复内容", tk.answer.at)
		}
		if _, err := w.reg.PutCanteen(t.Context(), registry.Canteen{ID: "D", Category: "school", District: "徐汇区", Active: false}); err != nil {
			t.Fatal(err)
		}
		rep, err := rates.New(w.db).Coverage(t.Context(), registry.CanteenFilter{}, coverage.Query{
			From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), Now: at(20, 12, 0)})
		if err != nil {
			t.Fatal(err)
		}
		r := func(num, den int64) coverage.Ratio { return coverage.Ratio{Num: num, Den: den} }
		type pair struct{ reply, onTime coverage.Ratio }
		check := func(what string, gotReply, gotOnTime coverage.Ratio, want pair) {
			t.Helper()
			if gotReply != want.reply || gotOnTime != want.onTime {
				t.Errorf("%s: reply %v on time %v, want %v %v", what, gotReply, gotOnTime, want.reply, want.onTime)
			}
		}
		check("period", rep.Total.Reply, rep.Total.ReplyOnTime, pair{r(5, 7), r(4, 7)})
		check("03-02", rep.Days[0].Reply, rep.Days[0].ReplyOnTime, pair{r(3, 4), r(2, 4)})
		check("03-03", rep.Days[1].Reply, rep.Days[1].ReplyOnTime, pair{r(2, 3), r(2, 3)})
		want := []struct {
			cat, district  string
			d0, d1, period pair
		}{
			{"hospital", "徐汇区", pair{r(0, 0), r(0, 0)}, pair{r(1, 1), r(1, 1)}, pair{r(1, 1), r(1, 1)}},
			{"school", "徐汇区", pair{r(2, 3), r(1, 3)}, pair{r(1, 2), r(1, 2)}, pair{r(3, 5), r(2, 5)}},
			{"school", "闵行区", pair{r(1, 1), r(1, 1)}, pair{r(0, 0), r(0, 0)}, pair{r(1, 1), r(1, 1)}},
		}
		if len(rep.Groups) != len(want) {
			t.Fatalf("%d groups, want %d", len(rep.Groups), len(want))
		}
		for i, g := range rep.Groups {
			wg := want[i]
			name := g.Category + " " + g.District
			if g.Category != wg.cat || g.District != wg.district {
				t.Errorf("group %d is %s, want %s %s", i, name, wg.cat, wg.district)
				continue
			}
			check(name+" 03-02", g.Days[0].Reply, g.Days[0].ReplyOnTime, wg.d0)
			check(name+" 03-03", g.Days[1].Reply, g.Days[1].ReplyOnTime, wg.d1)
			check(name+" period", g.Total.Reply, g.Total.ReplyOnTime, wg.period)
		}
		// The district filter: 徐汇区 alone is A and C.
		rep, err = rates.New(w.db).Coverage(t.Context(), registry.CanteenFilter{District: "徐汇区"}, coverage.Query{
			From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), Now: at(20, 12, 0)})
		if err != nil {
			t.Fatal(err)
		}
		check("徐汇区 period", rep.Total.Reply, rep.Total.ReplyOnTime, pair{r(4, 6), r(3, 6)})
	})
}

// TestChallenge: a challenge checks out only signed by the key, before it
// expires, for its canteen, with a nonce that solves it.
func TestChallenge(t *testing.T) {
	key, other := []byte("0123456789abcdef0123456789abcdef"), []byte("another key, another database..")
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ch, err := complaints.NewChallenge(key, "c-1", 10, now)
	if err != nil {
		t.Fatal(err)
	}
	nonce := complaints.Solve(ch.Token, ch.Bits, 1<<20)
	if nonce == "" || complaints.LeadingZeros(ch.Token, nonce) < 10 {
		t.Fatalf("no solution for %s", ch.Token)
	}
	v, err := complaints.VerifyChallenge(key, ch.Token, nonce, "c-1", now.Add(time.Minute))
	if err != nil || v.ID == "" || !v.Expires.Equal(now.Add(complaints.ChallengeTTL)) {
		t.Fatalf("verify: %+v %v", v, err)
	}
	// A nonce that does not solve it: one whose hash has a one bit early.
	bad := ""
	for i := range 1000 {
		if n := fmt.Sprint("x", i); complaints.LeadingZeros(ch.Token, n) < 10 {
			bad = n
			break
		}
	}
	easier := strings.Replace(ch.Token, ".10.", ".1.", 1)
	for _, tc := range []struct {
		name, token, nonce, canteen string
		at                          time.Time
		key                         []byte
	}{
		{"expired", ch.Token, nonce, "c-1", now.Add(complaints.ChallengeTTL), key},
		{"another key", ch.Token, nonce, "c-1", now, other},
		{"another canteen", ch.Token, nonce, "c-2", now, key},
		{"unsolved", ch.Token, bad, "c-1", now, key},
		{"easier, resigned by nobody", easier, bad, "c-1", now, key},
		{"empty nonce", ch.Token, "", "c-1", now, key},
		{"garbage", "v1.a.b", nonce, "c-1", now, key},
		{"long", strings.Repeat("v1.", 100), nonce, "c-1", now, key},
	} {
		if _, err := complaints.VerifyChallenge(tc.key, tc.token, tc.nonce, tc.canteen, tc.at); !errors.Is(err, complaints.ErrChallenge) {
			t.Errorf("%s: %v, want ErrChallenge", tc.name, err)
		}
	}
	if _, err := complaints.NewChallenge(key, "c-1", complaints.MaxBits+1, now); err == nil {
		t.Error("a challenge over MaxBits")
	}
}
