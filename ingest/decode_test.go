package ingest

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func marshal(t testing.TB, e *tidev1.Event) []byte {
	b, err := proto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeValidate checks the hot-path decoder against proto.Unmarshal on
// arbitrary bytes (same verdict, same event, pairs in agreement with the
// maps) and that validation never panics and fails only with a FieldError.
func FuzzDecodeValidate(f *testing.F) {
	f.Add(marshal(f, validEvent(tidev1.EventType_EVENT_TYPE_ORDER_PAID)))
	f.Add(marshal(f, validEvent(tidev1.EventType_EVENT_TYPE_CHAT)))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0xff, 0xfe})                   // event_id with bad UTF-8
	f.Add([]byte{0x82, 0x01, 0x04, 0x0a, 0x00, 0x12, 0x00}) // attrs entry with empty key and value
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var want tidev1.Event
		werr := proto.Unmarshal(b, &want)
		d := newDecoder()
		gerr := d.decode(b, true)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("proto.Unmarshal: %v, decoder: %v", werr, gerr)
		}
		if gerr != nil {
			if !errors.Is(gerr, ErrDecode) {
				t.Fatalf("decode error %v is not ErrDecode", gerr)
			}
			return
		}
		want.ProtoReflect().SetUnknown(nil)
		if !proto.Equal(&want, d.e) {
			t.Fatalf("decoded %v, want %v", d.e, &want)
		}
		checkPairs(t, d.expK, d.expV, d.e.Experiments)
		checkPairs(t, d.attrK, d.attrV, d.e.Attrs)
		var copied tidev1.Event
		if err := DecodeEvent(b, &copied); err != nil || !proto.Equal(&copied, d.e) {
			t.Fatalf("DecodeEvent: %v, %v", err, &copied)
		}
		err := DefaultLimits().Validate(d.e, time.UnixMilli(d.e.Ts))
		var fe *FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("Validate error %v is not a FieldError", err)
		}
	})
}

func checkPairs(t *testing.T, ks, vs []string, m map[string]string) {
	t.Helper()
	if len(ks) != len(m) || len(vs) != len(m) {
		t.Fatalf("pairs %v=%v, map %v", ks, vs, m)
	}
	for i, k := range ks {
		if m[k] != vs[i] {
			t.Fatalf("pair %s=%s, map has %s", k, vs[i], m[k])
		}
	}
}

func TestDecodeRepeatedMapKey(t *testing.T) {
	var b []byte
	entry := func(k, v string) []byte {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		return protowire.AppendString(e, v)
	}
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"a", "3"}} {
		b = protowire.AppendTag(b, 16, protowire.BytesType)
		b = protowire.AppendBytes(b, entry(kv[0], kv[1]))
	}
	d := newDecoder()
	if err := d.decode(b, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.attrK, []string{"a", "b"}) || !slices.Equal(d.attrV, []string{"3", "2"}) {
		t.Fatalf("pairs %v %v", d.attrK, d.attrV)
	}
	if !maps.Equal(d.e.Attrs, map[string]string{"a": "3", "b": "2"}) {
		t.Fatalf("map %v", d.e.Attrs)
	}
	// Reuse clears everything from the previous event.
	if err := d.decode(marshal(t, &tidev1.Event{EventId: "x"}), true); err != nil {
		t.Fatal(err)
	}
	if len(d.e.Attrs) != 0 || len(d.attrK) != 0 || d.e.EventId != "x" {
		t.Fatalf("not reset: %v", d.e)
	}
}

func TestDecodeAllocs(t *testing.T) {
	b := marshal(t, validEvent(tidev1.EventType_EVENT_TYPE_ORDER_PAID))
	d := newDecoder()
	l := DefaultLimits()
	allocs := testing.AllocsPerRun(1000, func() {
		if err := d.decode(b, true); err != nil {
			t.Fatal(err)
		}
		if err := l.Validate(d.e, refTime); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("decode+validate allocates %.1f times per event", allocs)
	}
}

// TestEnumMatchesProto keeps the events table's Enum8 in step with EventType.
func TestEnumMatchesProto(t *testing.T) {
	files, err := filepath.Glob("chschema/migrations/*.sql") // 0001 and the ALTERs that append values
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	var sql []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sql = append(sql, b...)
	}
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`'([a-z_]+)' = (\d+)`).FindAllStringSubmatch(string(sql), -1) {
		got[m[1]] = m[2]
	}
	for v, name := range tidev1.EventType_name {
		short := strings.ToLower(strings.TrimPrefix(name, "EVENT_TYPE_"))
		if short != TypeName(tidev1.EventType(v)) {
			t.Errorf("TypeName(%d) = %s, want %s", v, TypeName(tidev1.EventType(v)), short)
		}
		if got[short] == "" {
			t.Errorf("events.type has no %s (= %d): add it in a migration", short, v)
		}
	}
}

func BenchmarkDecodeValidate(b *testing.B) {
	rec := marshal(b, validEvent(tidev1.EventType_EVENT_TYPE_ORDER_PAID))
	d := newDecoder()
	l := DefaultLimits()
	c := newChunk(b.N)
	b.SetBytes(int64(len(rec)))
	for i := 0; b.Loop(); i++ {
		if err := d.decode(rec, true); err != nil {
			b.Fatal(err)
		}
		if err := l.Validate(d.e, refTime); err != nil {
			b.Fatal(err)
		}
		if c.rows() < chunkRecords {
			c.add(d, rec, int64(i))
		}
	}
}

// TestChunkSpans checks that a chunk gives back every string of the events
// it holds, pairs included, in the order appendTo sends them.
func TestChunkSpans(t *testing.T) {
	events := testEvents(50, 3)
	events[7].Attrs = map[string]string{"order_id": "o7", "coupon": "c1", "": ""}
	events[8].Experiments = nil
	c := newChunk(4)
	d := newDecoder()
	for i, e := range events {
		val := marshal(t, e)
		if err := d.decode(val, true); err != nil {
			t.Fatal(err)
		}
		c.add(d, val, int64(i))
	}
	out := make([]string, c.rows())
	c.strings(out, c.str[sEventID])
	for i, e := range events {
		if out[i] != e.EventId {
			t.Fatalf("row %d event_id %q, want %q", i, out[i], e.EventId)
		}
	}
	c.strings(out, c.str[sText])
	if out[3] != events[3].Text {
		t.Fatalf("text %q", out[3])
	}
	keys := make([]string, len(c.attrK))
	vals := make([]string, len(c.attrV))
	c.pairStrings(keys, c.attrK, c.attrEnd)
	c.pairStrings(vals, c.attrV, c.attrEnd)
	start := uint32(0)
	for i, e := range events {
		end := c.attrEnd[i]
		got := map[string]string{}
		for j := start; j < end; j++ {
			got[keys[j]] = vals[j]
		}
		if !maps.Equal(got, e.Attrs) && !(len(got) == 0 && len(e.Attrs) == 0) {
			t.Fatalf("row %d attrs %v, want %v", i, got, e.Attrs)
		}
		start = end
	}
}
