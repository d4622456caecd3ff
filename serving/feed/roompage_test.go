package feed

import (
	"context"
	"fmt"
	"sync"
	"testing"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// The Connect handler reuses room feed responses once written: concurrent
// callers over Connect each get whole, consistent pages of their own size
// (every card its room's, positions in order, no stale explain fields),
// the same pages a direct call of the service builds for the same cursor.
func TestHandlerReusesRoomPages(t *testing.T) {
	w := newWorld(t)
	cl, _ := serve(t, w)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("viewer-%d", g)
			for i := range 30 {
				size, explain := 3+(g+i)%6, (g+i)%2 == 0
				res, err := cl.Rooms(ctx, as(user, &tidev1.RoomsRequest{PageSize: int32(size), Explain: explain}))
				if err != nil {
					errs <- err
					return
				}
				if err := checkRoomPage(w, res.Msg, size, explain); err != nil {
					errs <- fmt.Errorf("%s, request %d: %w", user, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The next page (a cursor fixes the order) is the one the service
	// itself returns.
	first, err := cl.Rooms(ctx, as("lee", &tidev1.RoomsRequest{PageSize: 5}))
	if err != nil {
		t.Fatal(err)
	}
	req := &tidev1.RoomsRequest{PageSize: 5, Cursor: first.Msg.GetNextCursor()}
	over, err := cl.Rooms(ctx, as("lee", req))
	if err != nil {
		t.Fatal(err)
	}
	direct, err := w.svc.Rooms(ctx, "lee", req)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := roomIDs(over.Msg), roomIDs(direct); fmt.Sprint(a) != fmt.Sprint(b) || len(a) != 5 {
		t.Errorf("second page over Connect %v, from the service %v", a, b)
	}
}

func checkRoomPage(w *world, res *tidev1.RoomsResponse, size int, explain bool) error {
	items := res.GetItems()
	if len(items) != size || res.GetRequestId() == "" {
		return fmt.Errorf("%d items, request id %q; want %d and an id", len(items), res.GetRequestId(), size)
	}
	seen := map[string]bool{}
	for k, it := range items {
		info, ok := w.cat.Room(it.GetRoomId())
		switch {
		case !ok || seen[it.GetRoomId()]:
			return fmt.Errorf("card %d: room %q unknown or repeated", k, it.GetRoomId())
		case it.GetMerchantId() != info.MerchantID || it.GetCategory() != info.Category:
			return fmt.Errorf("card %d (%s): merchant %q, category %q; the room's are %q, %q", k, it.GetRoomId(),
				it.GetMerchantId(), it.GetCategory(), info.MerchantID, info.Category)
		case int(it.GetPosition()) != k:
			return fmt.Errorf("card %d at position %d", k, it.GetPosition())
		case explain != (len(it.GetReasons()) > 0):
			return fmt.Errorf("card %d: %d reasons with explain %v", k, len(it.GetReasons()), explain)
		}
		seen[it.GetRoomId()] = true
	}
	return nil
}

func roomIDs(res *tidev1.RoomsResponse) []string {
	var ids []string
	for _, it := range res.GetItems() {
		ids = append(ids, it.GetRoomId())
	}
	return ids
}
