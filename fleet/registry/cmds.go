package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// CmdSent is a command's status from RecordCmd until the gateway answers
// with a wire.CmdAck status (received, running, ok, failed).
const CmdSent = "sent"

// Command is a command sent to a gateway, with its latest status.
type Command struct {
	CmdID     string          `json:"cmd_id"`
	GatewayID string          `json:"gateway_id"`
	Name      string          `json:"name"`
	Args      json.RawMessage `json:"args,omitempty"`
	ExpiresAt time.Time       `json:"expires_at,omitzero"`
	Status    string          `json:"status"`
	Detail    string          `json:"detail,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// RecordCmd stores a command about to be sent, with status "sent".
// store.ErrExists if its cmd_id is taken; store.ErrNotFound if the gateway is unknown.
func (s *Registry) RecordCmd(ctx context.Context, gwID string, c wire.Cmd) error {
	var args any
	if len(c.Args) > 0 {
		args = string(c.Args)
	}
	now := ms(time.Now())
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateways WHERE id = $1`, gwID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("gateway %q: %w", gwID, store.ErrNotFound)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO cmds (cmd_id, gateway_id, name, args, expires_at, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (cmd_id) DO NOTHING`,
			c.CmdID, gwID, c.Name, args, msOrNil(c.ExpiresAt), CmdSent, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("command %q: %w", c.CmdID, store.ErrExists)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record command: %w", err)
	}
	return nil
}

// UpdateCmd records a gateway's cmd/ack. A final status (ok, failed) is
// never replaced by an earlier one arriving late. store.ErrNotFound if the gateway
// has no such command.
func (s *Registry) UpdateCmd(ctx context.Context, gwID, cmdID, status, detail string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE cmds SET status = $3, detail = $4, updated_at = $5
		WHERE cmd_id = $1 AND gateway_id = $2 AND (status NOT IN ($6, $7) OR $3 IN ($6, $7))`,
		cmdID, gwID, status, detail, ms(time.Now()), wire.CmdOK, wire.CmdFailed)
	if err != nil {
		return fmt.Errorf("update command: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	// Nothing updated: unknown, or a late non-final ack.
	c, err := s.Cmd(ctx, cmdID)
	if err == nil && c.GatewayID != gwID {
		err = fmt.Errorf("command %q of gateway %q: %w", cmdID, gwID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update command: %w", err)
	}
	return nil
}

// Cmd returns one command; store.ErrNotFound if there is none.
func (s *Registry) Cmd(ctx context.Context, cmdID string) (Command, error) {
	c, err := scanCmd(s.r.QueryRowContext(ctx, `SELECT `+cmdCols+` FROM cmds WHERE cmd_id = $1`, cmdID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("command %q: %w", cmdID, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("get command: %w", err)
	}
	return c, nil
}

// Cmds lists a gateway's commands, newest first, at most limit (default 100).
func (s *Registry) Cmds(ctx context.Context, gwID string, limit int) ([]Command, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	out, err := store.All(ctx, s.r, scanCmd, `SELECT `+cmdCols+` FROM cmds WHERE gateway_id = $1 ORDER BY created_at DESC, cmd_id DESC LIMIT $2`,
		gwID, min(limit, store.MaxLimit))
	if err != nil {
		return nil, fmt.Errorf("list commands: %w", err)
	}
	return out, nil
}

const cmdCols = `cmd_id, gateway_id, name, args, expires_at, status, detail, created_at, updated_at`

func scanCmd(sc store.Row) (Command, error) {
	var c Command
	var args sql.NullString
	var exp sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&c.CmdID, &c.GatewayID, &c.Name, &args, &exp, &c.Status, &c.Detail, &created, &updated); err != nil {
		return c, err
	}
	if args.Valid {
		c.Args = json.RawMessage(args.String)
	}
	c.ExpiresAt, c.CreatedAt, c.UpdatedAt = fromNullMs(exp), fromMs(created), fromMs(updated)
	return c, nil
}
