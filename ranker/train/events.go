package train

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// replayTypes are the event types the CTR replay needs: impressions and
// their answers, what the online features count, and stream status.
var replayTypes = []tidev1.EventType{
	tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, tidev1.EventType_EVENT_TYPE_ROOM_ENTER,
	tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, tidev1.EventType_EVENT_TYPE_CHAT, tidev1.EventType_EVENT_TYPE_LIKE,
	tidev1.EventType_EVENT_TYPE_GIFT, tidev1.EventType_EVENT_TYPE_SHARE, tidev1.EventType_EVENT_TYPE_FOLLOW,
	tidev1.EventType_EVENT_TYPE_UNFOLLOW, tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION,
	tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, tidev1.EventType_EVENT_TYPE_ADD_TO_CART,
	tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_SEARCH_CLICK,
	tidev1.EventType_EVENT_TYPE_STREAM_START, tidev1.EventType_EVENT_TYPE_STREAM_END,
	tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED,
}

// replayEvents streams the events of database.table received in
// [from, to) that meet the SQL condition exclude (if not empty), in
// received_at order, to f. The event passed to f is reused:
// f must not keep it.
func replayEvents(ctx context.Context, conn driver.Conn, database, table, exclude string, from, to time.Time, f func(*tidev1.Event)) (int64, error) {
	if !identRE.MatchString(database) || !identRE.MatchString(table) {
		return 0, fmt.Errorf("train: table %s.%s is not a plain identifier", database, table)
	}
	tbl := database + "." + table
	names := make(map[string]tidev1.EventType, len(replayTypes))
	in := ""
	for i, t := range replayTypes {
		n := ingest.TypeName(t)
		names[n] = t
		if i > 0 {
			in += ", "
		}
		in += "'" + n + "'"
	}
	// Partitions and the primary key lead with the client's date, which
	// validation keeps within MaxPast of received_at: prune by it.
	cond := ""
	if exclude != "" {
		cond = " AND (" + exclude + ")"
	}
	prune := from.Add(-ingest.DefaultLimits().MaxPast - 24*time.Hour).UTC()
	q := `SELECT toString(type), ts, received_at, user_id, device_id, merchant_id, room_id, live_session_id,
	  product_id, request_id, value, attrs.value[indexOf(attrs.key, 'category')] AS category
	FROM ` + tbl + `
	WHERE date >= toDate(?) AND received_at >= ? AND received_at < ? AND type IN (` + in + `)` + cond + `
	ORDER BY received_at`
	rows, err := conn.Query(ctx, q, prune, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("train: query %s: %w", tbl, err)
	}
	defer rows.Close()
	var (
		e        tidev1.Event
		typ, cat string
		attrs    = map[string]string{}
		n        int64
	)
	for rows.Next() {
		e.Reset()
		if err := rows.Scan(&typ, &e.Ts, &e.ReceivedAt, &e.UserId, &e.DeviceId, &e.MerchantId, &e.RoomId,
			&e.LiveSessionId, &e.ProductId, &e.RequestId, &e.Value, &cat); err != nil {
			return n, fmt.Errorf("train: scan %s: %w", tbl, err)
		}
		e.Type = names[typ]
		if cat != "" {
			attrs["category"] = cat
			e.Attrs = attrs
		}
		f(&e)
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("train: read %s: %w", tbl, err)
	}
	return n, nil
}
