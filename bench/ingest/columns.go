package main

import (
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// cols are rows laid out column by column in ingest.InsertSQL's order, built
// outside the timed part of the raw insert.
type cols struct {
	str                           [10][]string // event_id … text (less numeric columns)
	typ                           []int8
	ts, receivedAt, value, offset []int64
	position, partition           []int32
	expK, expV, attrK, attrV      [][]string
	topic                         []string
}

// columns lays out events; offsets are their index plus base.
func columns(events []*tidev1.Event, topic string, base int) *cols {
	n := len(events)
	c := &cols{typ: make([]int8, n), ts: make([]int64, n), receivedAt: make([]int64, n),
		value: make([]int64, n), offset: make([]int64, n), position: make([]int32, n),
		partition: make([]int32, n), expK: make([][]string, n), expV: make([][]string, n),
		attrK: make([][]string, n), attrV: make([][]string, n), topic: make([]string, n)}
	for k := range c.str {
		c.str[k] = make([]string, n)
	}
	for i, e := range events {
		for k, v := range []string{e.EventId, e.UserId, e.DeviceId, e.MerchantId, e.RoomId,
			e.LiveSessionId, e.ProductId, e.RequestId, e.Text} {
			c.str[k][i] = v
		}
		c.typ[i], c.ts[i], c.receivedAt[i] = int8(e.Type), e.Ts, e.ReceivedAt
		c.value[i], c.position[i], c.offset[i] = e.Value, e.Position, int64(base+i)
		c.topic[i] = topic
		for k, v := range e.Experiments {
			c.expK[i], c.expV[i] = append(c.expK[i], k), append(c.expV[i], v)
		}
		for k, v := range e.Attrs {
			c.attrK[i], c.attrV[i] = append(c.attrK[i], k), append(c.attrV[i], v)
		}
	}
	return c
}

// appendTo appends the columns to a batch prepared with ingest.InsertSQL.
func (c *cols) appendTo(b driver.Batch) error {
	order := []any{c.str[0], c.typ, c.ts, c.receivedAt, c.str[1], c.str[2], c.str[3], c.str[4],
		c.str[5], c.str[6], c.str[7], c.position, c.value, c.str[8]}
	for i, v := range order {
		if err := b.Column(i).Append(v); err != nil {
			return err
		}
	}
	for k, arr := range [][][]string{c.expK, c.expV, c.attrK, c.attrV} {
		col := b.Column(len(order) + k)
		for _, row := range arr {
			if err := col.AppendRow(row); err != nil {
				return err
			}
		}
	}
	for k, v := range []any{c.topic, c.partition, c.offset} {
		if err := b.Column(len(order) + 4 + k).Append(v); err != nil {
			return err
		}
	}
	return nil
}

// appendRows appends the same rows one by one with Batch.Append, the
// row-wise API, for comparison with the columnar appendTo.
func (c *cols) appendRows(b driver.Batch) error {
	for i := range c.typ {
		if err := b.Append(c.str[0][i], c.typ[i], c.ts[i], c.receivedAt[i], c.str[1][i], c.str[2][i],
			c.str[3][i], c.str[4][i], c.str[5][i], c.str[6][i], c.str[7][i], c.position[i], c.value[i],
			c.str[8][i], c.expK[i], c.expV[i], c.attrK[i], c.attrV[i], c.topic[i], c.partition[i], c.offset[i]); err != nil {
			return err
		}
	}
	return nil
}
