package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kgo"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
)

// markerTrack sends the markers through the real Track RPC (an in-process
// server on loopback with Track's own producer, binary Connect over HTTP),
// so a marker's latency runs from the Track ack a client sees, as the README
// states; the background load goes straight to Kafka.
type markerTrack struct {
	client   tidev1connect.EventServiceClient
	producer *kgo.Client
	wg       sync.WaitGroup
	failed   atomic.Int64 // markers Track did not acknowledge
}

func startMarkerTrack(ctx context.Context, brokers []string, topic string) (*markerTrack, error) {
	producer, err := serving.NewProducer(brokers)
	if err != nil {
		return nil, err
	}
	srv := serving.New(serving.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	serving.NewEventService(producer, srv.Registry(), serving.WithTopic(topic)).Mount(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		producer.Close()
		return nil, err
	}
	go srv.Serve(ctx, ln)
	return &markerTrack{producer: producer,
		client: tidev1connect.NewEventServiceClient(http.DefaultClient, "http://"+ln.Addr().String())}, nil
}

// send tracks marker e in the background and records when Track answered.
func (m *markerTrack) send(ctx context.Context, e *tidev1.Event, acks *ackLog) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		res, err := m.client.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: []*tidev1.Event{e}}))
		now := time.Now() // the ack: the client's Track call has returned
		if err == nil && res.Msg.GetAccepted() != 1 {
			err = fmt.Errorf("accepted %d of 1", res.Msg.GetAccepted())
		}
		if err != nil {
			m.failed.Add(1)
			fmt.Fprintln(os.Stderr, "track marker:", err)
			return
		}
		acks.mu.Lock()
		acks.at[e.EventId] = now
		acks.mu.Unlock()
	}()
}

// close waits for the markers in flight and closes Track's producer.
func (m *markerTrack) close() {
	m.wg.Wait()
	m.producer.Close()
}
