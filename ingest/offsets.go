package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// OffsetsAfter returns, for every partition of topic, the offset from which
// a direct consumer sees every record stamped at or after t.
//
// Don't hand kgo an AfterMilli offset for this: for a partition with no
// record after t, kgo (and kadm) ask for the end offset in a second request,
// and a record produced between the two requests is skipped (seen in CI, as
// changes and stream starts that never reached a follower). OffsetsAfter
// lists the end offsets first and takes, per partition, the smaller of that
// end and the by-time answer: anything produced after the first listing is
// at or past that end. Records older than t may be re-read; followers skip
// or re-apply them.
func OffsetsAfter(ctx context.Context, adm *kadm.Client, topic string, t time.Time) (map[int32]kgo.Offset, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, err
	}
	byTime, err := adm.ListOffsetsAfterMilli(ctx, t.UnixMilli(), topic)
	if err != nil {
		return nil, err
	}
	if err := byTime.Error(); err != nil {
		return nil, err
	}
	out := map[int32]kgo.Offset{}
	ends.Each(func(end kadm.ListedOffset) {
		at := end.Offset
		if b, ok := byTime.Lookup(topic, end.Partition); ok && b.Offset >= 0 && b.Offset < at {
			at = b.Offset
		}
		out[end.Partition] = kgo.NewOffset().At(at)
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions yet", topic)
	}
	return out, nil
}

// ConsumeAfter adds every partition of topic to the direct consumer kc from
// OffsetsAfter(t), retrying with backoff until it succeeds or ctx ends.
// warn is called with each failed attempt's error.
func ConsumeAfter(ctx context.Context, kc *kgo.Client, topic string, t time.Time, warn func(error)) error {
	adm := kadm.NewClient(kc)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		offsets, err := OffsetsAfter(ctx, adm, topic, t)
		if err == nil {
			kc.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets})
			return nil
		}
		if warn != nil {
			warn(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
