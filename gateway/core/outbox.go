package core

import (
	"github.com/brightkitchen/brightkitchen/gateway/spool"
	"github.com/brightkitchen/brightkitchen/gateway/uplink"
)

// outbox adapts the spool to the uplink's Outbox.
type outbox struct{ q *spool.Queue }

// NewOutbox returns the spool as the uplink's Outbox (with LastSeq, so
// replays are marked historical by seq).
func NewOutbox(q *spool.Queue) uplink.Outbox { return outbox{q} }

func (o outbox) Read(after uint64, max int) ([]uplink.Record, error) {
	recs, err := o.q.Read(after, max)
	if err != nil {
		return nil, err
	}
	out := make([]uplink.Record, len(recs))
	for i, r := range recs {
		out[i] = uplink.Record{Seq: r.Seq, Kind: r.Kind, Payload: r.Payload, Blob: r.Blob, BlobDropped: r.BlobDropped, At: r.At}
	}
	return out, nil
}

func (o outbox) Delete(seqs ...uint64) error  { return o.q.Delete(seqs...) }
func (o outbox) DeleteUpTo(seq uint64) error  { return o.q.DeleteUpTo(seq) }
func (o outbox) Notify() <-chan struct{}      { return o.q.Notify() }
func (o outbox) NextSession() (uint64, error) { return o.q.NextSession() }
func (o outbox) LastSeq() (uint64, error)     { return o.q.Stats().LastSeq, nil }
func (o outbox) Epoch() string                { return o.q.ID() }
