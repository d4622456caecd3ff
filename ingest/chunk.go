package ingest

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// insertColumns is the explicit column list of every insert into events, in
// the order appendTo fills them. time, received_time and date are DEFAULT.
var insertColumns = []string{
	"event_id", "type", "ts", "received_at", "user_id", "device_id", "merchant_id",
	"room_id", "live_session_id", "product_id", "request_id", "position", "value", "text",
	"`experiments.name`", "`experiments.arm`", "`attrs.key`", "`attrs.value`",
	"kafka_topic", "kafka_partition", "kafka_offset",
}

// InsertSQL is the INSERT statement (for PrepareBatch) into database's events
// table with the explicit column list that ClickHouse 18.16 needs.
func InsertSQL(database string) string {
	return "INSERT INTO " + database + ".events (" + strings.Join(insertColumns, ", ") + ")"
}

// The string columns of a chunk, in the order of decoder.strings.
const (
	sEventID = iota
	sUserID
	sDeviceID
	sMerchantID
	sRoomID
	sLiveSessionID
	sProductID
	sRequestID
	sText
	nStrings
)

// span locates a string inside its row's record value.
type span struct{ off, len uint32 }

// chunk holds the decoded rows of consecutive records of one partition,
// column by column. Strings are spans into the record values rather than Go
// strings, so the columns hold no pointers and the garbage collector never
// scans them; appendTo turns them into strings only while appending.
type chunk struct {
	topic                         string
	partition                     int32
	vals                          [][]byte // per row: the record value its spans point into
	str                           [nStrings][]span
	typ                           []int8
	ts, receivedAt, value, offset []int64
	position                      []int32
	// experiments and attrs pairs: flat spans and, per row, the end index.
	expK, expV, attrK, attrV []span
	expEnd, attrEnd          []uint32
}

func newChunk(rows int) *chunk {
	c := &chunk{vals: make([][]byte, 0, rows)}
	for k := range c.str {
		c.str[k] = make([]span, 0, rows)
	}
	c.typ = make([]int8, 0, rows)
	c.ts, c.receivedAt = make([]int64, 0, rows), make([]int64, 0, rows)
	c.value, c.offset = make([]int64, 0, rows), make([]int64, 0, rows)
	c.position = make([]int32, 0, rows)
	c.expEnd, c.attrEnd = make([]uint32, 0, rows), make([]uint32, 0, rows)
	return c
}

// reset empties c for reuse, dropping its references to record memory.
func (c *chunk) reset() {
	clear(c.vals)
	c.vals = c.vals[:0]
	for k := range c.str {
		c.str[k] = c.str[k][:0]
	}
	c.typ, c.ts, c.receivedAt, c.value, c.offset = c.typ[:0], c.ts[:0], c.receivedAt[:0], c.value[:0], c.offset[:0]
	c.position, c.expEnd, c.attrEnd = c.position[:0], c.expEnd[:0], c.attrEnd[:0]
	c.expK, c.expV, c.attrK, c.attrV = c.expK[:0], c.expV[:0], c.attrK[:0], c.attrV[:0]
}

// rows is the number of rows in c.
func (c *chunk) rows() int { return len(c.vals) }

// spanOf locates s, which must alias val (or be empty), inside val.
func spanOf(val []byte, s string) span {
	if len(s) == 0 {
		return span{}
	}
	off := uintptr(unsafe.Pointer(unsafe.StringData(s))) - uintptr(unsafe.Pointer(unsafe.SliceData(val)))
	return span{uint32(off), uint32(len(s))}
}

// add appends the event d decoded (with alias set) from val, read at offset.
func (c *chunk) add(d *decoder, val []byte, offset int64) {
	e := d.e
	c.vals = append(c.vals, val)
	for k, s := range [nStrings]string{e.EventId, e.UserId, e.DeviceId, e.MerchantId, e.RoomId,
		e.LiveSessionId, e.ProductId, e.RequestId, e.Text} {
		c.str[k] = append(c.str[k], spanOf(val, s))
	}
	c.typ = append(c.typ, int8(e.Type))
	c.ts = append(c.ts, e.Ts)
	c.receivedAt = append(c.receivedAt, e.ReceivedAt)
	c.position = append(c.position, e.Position)
	c.value = append(c.value, e.Value)
	c.offset = append(c.offset, offset)
	for i := range d.expK {
		c.expK, c.expV = append(c.expK, spanOf(val, d.expK[i])), append(c.expV, spanOf(val, d.expV[i]))
	}
	c.expEnd = append(c.expEnd, uint32(len(c.expK)))
	for i := range d.attrK {
		c.attrK, c.attrV = append(c.attrK, spanOf(val, d.attrK[i])), append(c.attrV, spanOf(val, d.attrV[i]))
	}
	c.attrEnd = append(c.attrEnd, uint32(len(c.attrK)))
}

// strings fills out with the strings of column spans (out must be as long).
func (c *chunk) strings(out []string, spans []span) {
	for i, sp := range spans {
		if sp.len == 0 {
			out[i] = ""
			continue
		}
		out[i] = unsafe.String(&c.vals[i][sp.off], sp.len)
	}
}

// pairStrings fills out with the strings of flat pair spans, finding each
// pair's row through end.
func (c *chunk) pairStrings(out []string, spans []span, end []uint32) {
	row := 0
	for i, sp := range spans {
		for uint32(i) >= end[row] {
			row++
		}
		out[i] = ""
		if sp.len > 0 {
			out[i] = unsafe.String(&c.vals[row][sp.off], sp.len)
		}
	}
}

// appendTo appends c's rows to a batch prepared with InsertSQL. scratch is
// reused memory for the strings it hands over; it is returned, grown as
// needed, and must be cleared by the caller when the batch is done.
func (c *chunk) appendTo(b driver.Batch, scratch []string) ([]string, error) {
	n := c.rows()
	if cap(scratch) < n {
		scratch = make([]string, n)
	}
	strs := scratch[:n]
	col := func(i int, v any) error {
		if err := b.Column(i).Append(v); err != nil {
			return fmt.Errorf("column %s: %w", insertColumns[i], err)
		}
		return nil
	}
	str := func(i int, k int) error {
		c.strings(strs, c.str[k])
		return col(i, strs)
	}
	steps := []func() error{
		func() error { return str(0, sEventID) },
		func() error { return col(1, c.typ) },
		func() error { return col(2, c.ts) },
		func() error { return col(3, c.receivedAt) },
		func() error { return str(4, sUserID) },
		func() error { return str(5, sDeviceID) },
		func() error { return str(6, sMerchantID) },
		func() error { return str(7, sRoomID) },
		func() error { return str(8, sLiveSessionID) },
		func() error { return str(9, sProductID) },
		func() error { return str(10, sRequestID) },
		func() error { return col(11, c.position) },
		func() error { return col(12, c.value) },
		func() error { return str(13, sText) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return scratch, err
		}
	}
	for k, p := range []struct {
		flat []span
		end  []uint32
	}{{c.expK, c.expEnd}, {c.expV, c.expEnd}, {c.attrK, c.attrEnd}, {c.attrV, c.attrEnd}} {
		if cap(scratch) < len(p.flat) {
			scratch = make([]string, len(p.flat))
		}
		flat := scratch[:len(p.flat)]
		c.pairStrings(flat, p.flat, p.end)
		bc := b.Column(14 + k)
		start := uint32(0)
		for _, end := range p.end {
			if err := bc.AppendRow(flat[start:end:end]); err != nil {
				return scratch, fmt.Errorf("column %s: %w", insertColumns[14+k], err)
			}
			start = end
		}
	}
	for i := range strs {
		strs[i] = c.topic
	}
	if err := col(18, strs); err != nil {
		return scratch, err
	}
	parts := make([]int32, n)
	for i := range parts {
		parts[i] = c.partition
	}
	if err := col(19, parts); err != nil {
		return scratch, err
	}
	return scratch, col(20, c.offset)
}
