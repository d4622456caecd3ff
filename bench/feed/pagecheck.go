package main

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// roomsPage is what the load generator keeps of a RoomsResponse: the number
// of cards. The phones the generator stands for decode their pages, but
// they are not on this machine; the generator checks each page's wire
// format instead (every field well formed, every card a message with a
// room id) and counts its cards, without building them.
type roomsPage struct {
	cards int
}

// pageCodec is the load generator's binary protobuf codec: requests are
// marshalled as usual, responses are checked and counted into a roomsPage.
type pageCodec struct{}

// Name is the codec's content subtype: binary protobuf.
func (pageCodec) Name() string { return "proto" }

// Marshal marshals a request message.
func (pageCodec) Marshal(m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("pageCodec: cannot marshal %T", m)
	}
	return proto.Marshal(pm)
}

// Unmarshal checks a RoomsResponse and counts its cards into a *roomsPage.
func (pageCodec) Unmarshal(b []byte, m any) error {
	p, ok := m.(*roomsPage)
	if !ok {
		return fmt.Errorf("pageCodec: cannot unmarshal into %T", m)
	}
	n, err := countCards(b)
	p.cards = n
	return err
}

// The field numbers countCards reads (tide.v1.RoomsResponse.items,
// tide.v1.RoomItem.room_id).
const (
	fieldItems  protowire.Number = 2
	fieldRoomID protowire.Number = 1
)

// countCards walks an encoded RoomsResponse and returns how many cards it
// holds; it fails on a malformed field or a card without a room id.
func countCards(b []byte) (int, error) {
	n := 0
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != fieldItems {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("items field of wire type %d", typ)
		}
		hasID := false
		if err := walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
			hasID = hasID || (num == fieldRoomID && typ == protowire.BytesType && len(v) > 0)
			return nil
		}); err != nil {
			return fmt.Errorf("card %d: %w", n, err)
		}
		if !hasID {
			return fmt.Errorf("card %d has no room id", n)
		}
		n++
		return nil
	})
	return n, err
}

// walkFields calls f with each field of the encoded message b (v is the
// payload of a length-delimited field, nil otherwise).
func walkFields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		var v []byte
		if typ == protowire.BytesType {
			v, l = protowire.ConsumeBytes(b)
		} else {
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if err := f(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}
