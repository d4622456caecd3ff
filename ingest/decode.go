package ingest

import (
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// ErrDecode is wrapped by every failure to decode an Event record.
var ErrDecode = errors.New("cannot decode event")

// DecodeEvent decodes the protobuf wire form of an Event into e, replacing
// what e held. It accepts exactly what proto.Unmarshal accepts, keeps no
// unknown fields, and copies every string, so b may be reused afterwards.
func DecodeEvent(b []byte, e *tidev1.Event) error {
	var d decoder
	d.e = e
	return d.decode(b, false)
}

// decoder is the ingester's hot-path Event decoder. It reuses one Event and
// its maps, and with alias set its strings point into the record's bytes
// instead of being copied, so decoding allocates nothing. The pairs of
// experiments and attrs are also kept in wire order (a repeated key keeps its
// first place and its last value, as proto's map semantics say) for the
// parallel arrays of the events table.
type decoder struct {
	e            *tidev1.Event
	expK, expV   []string
	attrK, attrV []string
}

func newDecoder() *decoder { return &decoder{e: &tidev1.Event{}} }

// decode fills d.e from b; on error d.e holds a partial event.
func (d *decoder) decode(b []byte, alias bool) error {
	e := d.e
	e.EventId, e.Type, e.Ts, e.ReceivedAt = "", 0, 0, 0
	e.UserId, e.DeviceId, e.MerchantId, e.RoomId = "", "", "", ""
	e.LiveSessionId, e.ProductId, e.RequestId = "", "", ""
	e.Position, e.Value, e.Text = 0, 0, ""
	clear(e.Experiments)
	clear(e.Attrs)
	d.expK, d.expV, d.attrK, d.attrV = d.expK[:0], d.expV[:0], d.attrK[:0], d.attrV[:0]

	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", ErrDecode, protowire.ParseError(n))
		}
		if num > protowire.MaxValidNumber {
			return fmt.Errorf("%w: field number %d out of range", ErrDecode, num)
		}
		b = b[n:]
		known := true
		switch {
		case typ == protowire.VarintType && (num == 2 || num == 3 || num == 4 || num == 12 || num == 14):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %v", ErrDecode, num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 2:
				e.Type = tidev1.EventType(int32(v))
			case 3:
				e.Ts = int64(v)
			case 4:
				e.ReceivedAt = int64(v)
			case 12:
				e.Position = int32(v)
			case 14:
				e.Value = int64(v)
			}
		case typ == protowire.BytesType && (num == 1 || (num >= 5 && num <= 11) || num == 15):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %v", ErrDecode, num, protowire.ParseError(n))
			}
			b = b[n:]
			if !utf8.Valid(v) {
				return fmt.Errorf("%w: field %d: string is not valid UTF-8", ErrDecode, num)
			}
			s := str(v, alias)
			switch num {
			case 1:
				e.EventId = s
			case 5:
				e.UserId = s
			case 6:
				e.DeviceId = s
			case 7:
				e.MerchantId = s
			case 8:
				e.RoomId = s
			case 9:
				e.LiveSessionId = s
			case 10:
				e.ProductId = s
			case 11:
				e.RequestId = s
			case 15:
				e.Text = s
			}
		case typ == protowire.BytesType && (num == 13 || num == 16):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %v", ErrDecode, num, protowire.ParseError(n))
			}
			b = b[n:]
			k, val, err := mapEntry(v, alias)
			if err != nil {
				return fmt.Errorf("%w: field %d: %w", ErrDecode, num, err)
			}
			if num == 13 {
				if e.Experiments == nil {
					e.Experiments = make(map[string]string, 4)
				}
				d.expK, d.expV = putPair(e.Experiments, d.expK, d.expV, k, val)
			} else {
				if e.Attrs == nil {
					e.Attrs = make(map[string]string, 4)
				}
				d.attrK, d.attrV = putPair(e.Attrs, d.attrK, d.attrV, k, val)
			}
		default:
			known = false
		}
		if !known {
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: unknown field %d: %v", ErrDecode, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

// putPair records k=v in m and in the parallel slices, replacing the value
// of a key seen before.
func putPair(m map[string]string, ks, vs []string, k, v string) ([]string, []string) {
	if _, dup := m[k]; dup {
		for i := range ks {
			if ks[i] == k {
				vs[i] = v
			}
		}
	} else {
		ks, vs = append(ks, k), append(vs, v)
	}
	m[k] = v
	return ks, vs
}

// mapEntry decodes one map<string, string> entry message.
func mapEntry(b []byte, alias bool) (k, v string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		if num > protowire.MaxValidNumber {
			return "", "", fmt.Errorf("field number %d out of range", num)
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			s, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", "", protowire.ParseError(n)
			}
			b = b[n:]
			if !utf8.Valid(s) {
				return "", "", errors.New("map entry is not valid UTF-8")
			}
			if num == 1 {
				k = str(s, alias)
			} else {
				v = str(s, alias)
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		b = b[n:]
	}
	return k, v, nil
}

// str makes a string of b, sharing its memory when alias is set.
func str(b []byte, alias bool) string {
	if len(b) == 0 {
		return ""
	}
	if alias {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}
