package registry

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

// BenchmarkPublicCanteens: the public list's queries (a page, the count
// and the districts) over 5,000 participating canteens of 16 districts,
// SQLite.
func BenchmarkPublicCanteens(b *testing.B) {
	s := open(b, storetest.FreshSQLite(b))
	now := time.Now().UnixMilli()
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 5000 {
			c, gw := fmt.Sprintf("c%05d", i), fmt.Sprintf("gw-%05d", i)
			if _, err := tx.ExecContext(ctx, `INSERT INTO canteens (id, name, category, district, active, created_at, updated_at)
				VALUES ($1, $2, 'school', $3, TRUE, $4, $4)`, c, fmt.Sprintf("食堂 %d", i), fmt.Sprintf("区%02d", i%16), now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO gateways (id, canteen_id, username, password_hash, created_at)
				VALUES ($1, $2, $1, 'x', $3)`, gw, c, now); err != nil {
				return err
			}
			for k := range 2 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO cameras (gateway_id, camera_id, public, published, updated_at)
					VALUES ($1, $2, TRUE, $3, $4)`, gw, fmt.Sprintf("cam%d", k), k == 0, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    PublicFilter
	}{{"all", PublicFilter{}}, {"district", PublicFilter{District: "区03", Offset: 20}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, n, err := s.PublicCanteens(ctx, c.f); err != nil || n == 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
	b.Run("districts", func(b *testing.B) {
		for b.Loop() {
			if ds, err := s.PublicDistricts(ctx, ""); err != nil || len(ds) != 16 {
				b.Fatal(ds, err)
			}
		}
	})
}
