package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// openPostgres opens a PostgreSQL database through pgx. Readers and writers
// share one pool of up to 16 connections: PostgreSQL needs no single writer.
// Connection parameters (sslmode, search_path, …) go in the URL as usual.
func openPostgres(ctx context.Context, dbURL string) (*DB, error) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(dbURL), err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres %s: %w", redact(dbURL), err)
	}
	s := &DB{d: pgDialect, w: db, r: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
