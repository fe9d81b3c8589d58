package sql

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestTicketRoundTrip(t *testing.T) {
	for _, tk := range []ticket{
		{kind: ticketStatement, id: newQueryID(), text: "SELECT 1"},
		{kind: ticketStatement, id: newQueryID(), timeout: 1500 * time.Millisecond, text: "SELECT 'ü' -- é"},
		{kind: ticketPrepared, id: newQueryID(), timeout: time.Hour, text: "handle\x00\xff"},
		{kind: ticketStatement, text: ""},
	} {
		got, err := decodeTicket(tk.encode())
		if err != nil {
			t.Fatalf("%+v: %v", tk, err)
		}
		if got != tk {
			t.Fatalf("round trip %+v → %+v", tk, got)
		}
		ft, err := tk.flightTicket()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ticketOf(ft); err != nil || got != tk {
			t.Fatalf("flight ticket round trip: %+v, %v", got, err)
		}
	}
}

func TestTicketRejects(t *testing.T) {
	good := ticket{kind: ticketStatement, id: newQueryID(), timeout: time.Second, text: "SELECT 1"}.encode()
	for name, b := range map[string][]byte{
		"empty":           nil,
		"magic":           append([]byte("xx"), good[2:]...),
		"version":         append(append([]byte("tq"), 2), good[3:]...),
		"kind":            append(append([]byte("tq\x01"), 9), good[4:]...),
		"short id":        good[:10],
		"no length":       good[:21],
		"trailing":        append(bytes.Clone(good), 'x'),
		"truncated":       good[:len(good)-1],
		"bad utf8":        ticket{kind: ticketStatement, text: "\xff"}.encode(),
		"huge length":     append(bytes.Clone(good[:21]), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"varint overflow": append(bytes.Clone(good[:20]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	} {
		if _, err := decodeTicket(b); !errors.Is(err, errBadTicket) {
			t.Errorf("%s: err %v, want errBadTicket", name, err)
		}
	}
}

// FuzzDecodeTicket checks that decoding never panics and that whatever
// decodes re-encodes to the same bytes.
func FuzzDecodeTicket(f *testing.F) {
	f.Add(ticket{kind: ticketStatement, id: newQueryID(), text: "SELECT 1"}.encode())
	f.Add(ticket{kind: ticketPrepared, id: newQueryID(), timeout: time.Minute, text: "abc"}.encode())
	f.Add([]byte("tq\x01\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := decodeTicket(b)
		if err != nil {
			if !errors.Is(err, errBadTicket) {
				t.Fatalf("error %v does not wrap errBadTicket", err)
			}
			return
		}
		if enc := tk.encode(); !bytes.Equal(enc, b) {
			t.Fatalf("decode(%x) = %+v re-encodes to %x", b, tk, enc)
		}
	})
}
