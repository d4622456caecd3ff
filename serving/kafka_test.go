package serving_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/testenv"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
)

// newTopic creates a topic only this test uses and deletes it afterwards.
func newTopic(t *testing.T, brokers []string, partitions int32) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	topic := fmt.Sprintf("test.serving.%s.%d", t.Name(), time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), topic) })
	return topic
}

func consume(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	// Anything more would be a duplicate; give it a moment to show up.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	out = append(out, cl.PollFetches(ctx2).Records()...)
	return out
}

func TestTrackIntoKafka(t *testing.T) {
	brokers := testenv.Kafka(t)
	topic := newTopic(t, brokers, 3)
	producer, err := serving.NewProducer(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)),
		serving.WithReadyCheck("kafka", producer.Ping))
	serving.NewEventService(producer, srv.Registry(), serving.WithTopic(topic)).Mount(srv)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	if code := get(t, hs.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d with Kafka up", code)
	}

	// Busy enough that 900 events span seconds, not hours, of simulated time.
	sim := livesim.New(livesim.WithSeed(11), livesim.WithUsers(3000), livesim.WithSessionRate(50))
	var sent []*tidev1.Event
	ctx := context.Background()
	before := time.Now().UnixMilli()
	for _, codec := range []struct {
		name string
		opts []connect.ClientOption
	}{{"proto", nil}, {"json", []connect.ClientOption{connect.WithProtoJSON()}}} {
		client := tidev1connect.NewEventServiceClient(http.DefaultClient, hs.URL, codec.opts...)
		for range 3 {
			b := make([]*tidev1.Event, 0, 150)
			for len(b) < cap(b) {
				if e := sim.Next(); !ingest.ServerOnly(e.GetType()) { // the platform's own facts are not Track's
					b = append(b, e)
				}
			}
			res, err := client.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: b}))
			if err != nil {
				t.Fatalf("%s: %v", codec.name, err)
			}
			if res.Msg.GetAccepted() != 150 {
				t.Fatalf("%s: accepted %d of 150", codec.name, res.Msg.GetAccepted())
			}
			sent = append(sent, b...)
		}
	}
	// A retry of the last batch is not produced again.
	client := tidev1connect.NewEventServiceClient(http.DefaultClient, hs.URL)
	if _, err := client.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: sent[len(sent)-150:]})); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixMilli()

	recs := consume(t, brokers, topic, len(sent))
	if len(recs) != len(sent) {
		t.Fatalf("consumed %d records, sent %d events", len(recs), len(sent))
	}
	byID := map[string]*tidev1.Event{}
	for _, e := range sent {
		byID[e.GetEventId()] = e
	}
	order := map[string][]string{} // key → event_ids in topic order
	for _, r := range recs {
		var got tidev1.Event
		if err := proto.Unmarshal(r.Value, &got); err != nil {
			t.Fatal(err)
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != ingest.ProducerHeader || string(r.Headers[0].Value) != ingest.ProducerTrack {
			t.Errorf("record headers %v, want %s: %s", r.Headers, ingest.ProducerHeader, ingest.ProducerTrack)
		}
		if !bytes.Equal(r.Key, ingest.Key(&got)) {
			t.Errorf("record key %q, want %q", r.Key, ingest.Key(&got))
		}
		if ra := got.GetReceivedAt(); ra < before || ra > after {
			t.Errorf("received_at %d outside [%d, %d]", ra, before, after)
		}
		want := byID[got.GetEventId()]
		got.ReceivedAt = 0 // stamped by the server only
		if !proto.Equal(&got, want) {
			t.Errorf("event differs:\n got %v\nwant %v", &got, want)
		}
		order[string(r.Key)] = append(order[string(r.Key)], got.GetEventId())
	}
	// One key's events stay in the order they were sent.
	sentOrder := map[string][]string{}
	for _, e := range sent {
		k := string(ingest.Key(e))
		sentOrder[k] = append(sentOrder[k], e.GetEventId())
	}
	for k, ids := range sentOrder {
		if fmt.Sprint(ids) != fmt.Sprint(order[k]) {
			t.Errorf("key %s: topic order %v, sent %v", k, order[k], ids)
		}
	}
}
