// Package roomfeed keeps a feed's catalog (serving/feed.Catalog) in step
// with the room registry (live/postgres) and the product catalog
// (commerce/postgres): room cards (title, cover, anchor, category, signed
// pull URLs of the room's current stream), 预告 from the schedule, shelves in the
// merchant's order, and the shelf products' cards (title, price, image).
//
// Which rooms are live is not its job: the feed learns that from the
// stream_start / stream_end events the registry publishes through the
// outbox. A Syncer reloads when the registry's outbox NOTIFY says something
// changed (debounced), and at least every refresh interval so that pull
// URLs are re-signed before they expire.
package roomfeed

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/postgres"
	"github.com/tide-live/tide/serving/feed"
)

// Products is where shelf products' cards are read (commerce/postgres.Store).
type Products interface {
	Products(ctx context.Context, ids []string) ([]commerce.Product, error)
}

// Syncer loads the registry into a feed catalog and follows its changes.
type Syncer struct {
	reg      *postgres.Registry
	products Products
	cat      *feed.Catalog
	refresh  time.Duration
	pullTTL  time.Duration
	debounce time.Duration
	onAir    func(ctx context.Context, shelves map[string][]string)
	log      *slog.Logger
}

// Option configures a Syncer.
type Option func(*Syncer)

// WithRefresh sets the longest time between reloads (default 1 min).
func WithRefresh(d time.Duration) Option { return func(s *Syncer) { s.refresh = d } }

// WithPullTTL sets how long the pull URLs put on cards are valid (default
// 2h; keep it well above the refresh interval).
func WithPullTTL(d time.Duration) Option { return func(s *Syncer) { s.pullTTL = d } }

// WithOnAir calls f after every load with the rooms on air now (live or
// paused after a blip) and the product ids on each one's shelf, in the
// merchant's order; tide serve hands them to the search index's live filter
// (search.Index.SetLiveShelves), so a room that starts, ends or is banned
// enters or leaves search's live filter with the same reload that updates
// its card.
func WithOnAir(f func(ctx context.Context, shelves map[string][]string)) Option {
	return func(s *Syncer) { s.onAir = f }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Syncer) { s.log = l } }

// New returns a Syncer from reg (and products, which may be nil) into cat.
func New(reg *postgres.Registry, products Products, cat *feed.Catalog, opts ...Option) *Syncer {
	s := &Syncer{reg: reg, products: products, cat: cat, refresh: time.Minute, pullTTL: 2 * time.Hour,
		debounce: 50 * time.Millisecond, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Load reads every room, the active sessions and the shelves, and puts them
// in the catalog.
func (s *Syncer) Load(ctx context.Context) error {
	rooms, err := s.reg.Rooms(ctx, "")
	if err != nil {
		return err
	}
	active, err := s.reg.Active(ctx)
	if err != nil {
		return err
	}
	shelves, err := s.reg.Shelves(ctx)
	if err != nil {
		return err
	}
	// The stream whose pull URLs a room's card carries: the session on air,
	// else the next scheduled one, so the card has them the moment the
	// feed learns (from Kafka) that the room went live. The feed shows pull
	// URLs on live cards only.
	current := map[string]live.Session{}
	var schedule []feed.Announcement
	for _, a := range active { // by scheduled start
		if c, ok := current[a.RoomID]; a.State.OnAir() || !ok || (!c.State.OnAir() && a.ScheduledStart.Before(c.ScheduledStart)) {
			current[a.RoomID] = a
		}
		if a.State == live.StateScheduled {
			schedule = append(schedule, feed.Announcement{RoomID: a.RoomID, LiveSessionID: a.ID, Start: a.ScheduledStart, End: a.ScheduledEnd})
		}
	}
	prov, exp := s.reg.Provider(), time.Now().Add(s.pullTTL)
	infos := make([]feed.RoomInfo, 0, len(rooms))
	for _, r := range rooms {
		info := feed.RoomInfo{Room: r}
		if sess, ok := current[r.ID]; ok && prov != nil {
			pull, err := prov.PullURLs(sess.Stream, exp)
			if err != nil {
				return fmt.Errorf("roomfeed: pull URLs of %s: %w", sess.ID, err)
			}
			info.PullFLV, info.PullHLS = pull.FLV, pull.HLS
		}
		infos = append(infos, info)
	}
	var ids []string
	for _, lines := range shelves {
		for _, l := range lines {
			ids = append(ids, l.ProductID)
		}
	}
	if s.products != nil && len(ids) > 0 {
		ps, err := s.products.Products(ctx, ids)
		if err != nil {
			return fmt.Errorf("roomfeed: shelf products: %w", err)
		}
		pinfos := make([]feed.ProductInfo, 0, len(ps))
		for _, p := range ps {
			pi := feed.ProductInfo{ID: p.ID, MerchantID: p.MerchantID, Category: p.Category, Title: p.Title, PriceFen: p.PriceFen}
			if len(p.Images) > 0 {
				pi.ImageURL = p.Images[0]
			}
			pinfos = append(pinfos, pi)
		}
		s.cat.PutProducts(pinfos...)
	}
	s.cat.PutRooms(infos...)
	for _, r := range rooms {
		var line []string
		for _, l := range shelves[r.ID] {
			line = append(line, l.ProductID)
		}
		s.cat.SetLineup(r.ID, line)
	}
	s.cat.SetSchedule(schedule)
	if s.onAir != nil {
		onAir := map[string][]string{}
		for roomID, sess := range current {
			if sess.State.OnAir() {
				onAir[roomID] = []string{}
				for _, l := range shelves[roomID] {
					onAir[roomID] = append(onAir[roomID], l.ProductID)
				}
			}
		}
		s.onAir(ctx, onAir)
	}
	return nil
}

// Run loads now, then again after every registry change and at least every
// refresh interval, until ctx ends. Load errors are logged and retried.
func (s *Syncer) Run(ctx context.Context) {
	wake := make(chan struct{}, 1)
	go outbox.Listen(ctx, s.reg.Pool(), wake, s.log, "roomfeed") // the registry adds its events to the outbox in every change
	t := time.NewTicker(s.refresh)
	defer t.Stop()
	for {
		if err := s.Load(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("roomfeed: loading the room registry failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
			time.Sleep(s.debounce) // let a burst of changes land in one reload
			select {
			case <-wake:
			default:
			}
		case <-t.C:
		}
	}
}
