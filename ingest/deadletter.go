package ingest

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers of a dead-letter record. Its key, value, timestamp and original
// headers are those of the record that failed.
const (
	HeaderReason    = "tide-dlq-reason"    // why, in words: "ts: ... is 9h0m0s in the future"
	HeaderKind      = "tide-dlq-kind"      // "decode" or "invalid_<field>", the metric label
	HeaderTopic     = "tide-dlq-topic"     // the record's original topic
	HeaderPartition = "tide-dlq-partition" // its partition, decimal
	HeaderOffset    = "tide-dlq-offset"    // its offset, decimal
)

// ReasonKind is the bounded label of a dead-letter reason: "decode" for
// records that are not Events, "invalid_<field>" for validation failures
// (attrs.order_id counts as invalid_attrs).
func ReasonKind(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		f, _, _ := strings.Cut(fe.Field, ".")
		return "invalid_" + f
	}
	return "decode"
}

// deadLetter produces records that failed to the dead-letter topic. Produce
// is asynchronous so that bad records never slow the healthy stream; a failed
// produce is retried until it succeeds or the ingester stops.
type deadLetter struct {
	cl    *kgo.Client
	topic string
	m     *metrics
	log   *slog.Logger
	ctx   context.Context // the ingester's lifetime
}

// send produces a dead letter for r; pending is released when it is stored.
func (d *deadLetter) send(r *kgo.Record, err error, pending *sync.WaitGroup) {
	kind := ReasonKind(err)
	d.m.deadLettered.WithLabelValues(kind).Inc()
	out := &kgo.Record{
		Topic:     d.topic,
		Key:       r.Key,
		Value:     r.Value,
		Timestamp: r.Timestamp,
		Headers: append([]kgo.RecordHeader{
			{Key: HeaderReason, Value: []byte(err.Error())},
			{Key: HeaderKind, Value: []byte(kind)},
			{Key: HeaderTopic, Value: []byte(r.Topic)},
			{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
		}, r.Headers...),
	}
	pending.Add(1)
	d.produce(out, pending, 0)
}

func (d *deadLetter) produce(r *kgo.Record, pending *sync.WaitGroup, attempt int) {
	d.cl.Produce(d.ctx, r, func(r *kgo.Record, err error) {
		if err == nil || d.ctx.Err() != nil {
			pending.Done()
			return
		}
		d.log.Warn("dead-letter produce failed; retrying", "topic", d.topic, "attempt", attempt, "err", err)
		go func() {
			select {
			case <-time.After(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)):
			case <-d.ctx.Done():
			}
			d.produce(r, pending, attempt+1)
		}()
	})
}
