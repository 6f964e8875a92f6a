package registry

import (
	"context"
	"database/sql"
	"errors"
)

// Spool epochs. A gateway numbers its sessions (wire.State.Session) and its
// records (seq) within its spool; a new spool (new SD card, deleted file)
// starts both at 1 again under a new random epoch id. The fleet keeps its
// own numbers unique and ordered per gateway by adding the epoch's bases,
// kept in gateway_epochs:
//
//   - seq_base gives each epoch its own range of 2^32 seqs, so camera
//     statuses of a new spool are not taken for replays of the old one's;
//   - session_base is the newest session stored when the epoch became the
//     gateway's current one (and again each time it becomes current anew, an
//     old SD card put back), so its sessions order after every earlier one
//     and the registry takes the gateway online again.
//
// The empty epoch (gateways that predate epochs) has bases 0 and no row.
const epochSeqRange = 1 << 32

type epochBase struct{ session, seq int64 }

// epochBases returns the bases of a gateway's epoch, creating its row on
// first sight. With current set, the epoch becomes the gateway's current
// one; if it was not, its session base moves to storedSession.
func epochBases(ctx context.Context, tx *sql.Tx, gw, epoch string, current bool, storedEpoch string, storedSession int64, now int64) (epochBase, error) {
	if epoch == "" {
		if current && storedEpoch != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE gateways SET epoch = '' WHERE id = $1`, gw); err != nil {
				return epochBase{}, err
			}
		}
		return epochBase{}, nil
	}
	var b epochBase
	err := tx.QueryRowContext(ctx, `SELECT session_base, seq_base FROM gateway_epochs WHERE gateway_id = $1 AND epoch = $2`,
		gw, epoch).Scan(&b.session, &b.seq)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var maxSeq, maxBase sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM camera_status WHERE gateway_id = $1`, gw).Scan(&maxSeq); err != nil {
			return b, err
		}
		if err := tx.QueryRowContext(ctx, `SELECT MAX(seq_base) FROM gateway_epochs WHERE gateway_id = $1`, gw).Scan(&maxBase); err != nil {
			return b, err
		}
		b = epochBase{session: storedSession, seq: (max(maxSeq.Int64, maxBase.Int64)/epochSeqRange + 1) * epochSeqRange}
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_epochs (gateway_id, epoch, session_base, seq_base, created_at)
			VALUES ($1, $2, $3, $4, $5)`, gw, epoch, b.session, b.seq, now); err != nil {
			return b, err
		}
	case err != nil:
		return b, err
	case current && epoch != storedEpoch:
		b.session = storedSession
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_epochs SET session_base = $3 WHERE gateway_id = $1 AND epoch = $2`,
			gw, epoch, b.session); err != nil {
			return b, err
		}
	}
	if current && epoch != storedEpoch {
		if _, err := tx.ExecContext(ctx, `UPDATE gateways SET epoch = $2 WHERE id = $1`, gw, epoch); err != nil {
			return b, err
		}
	}
	return b, nil
}
