package sql

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// A ticket names one query execution: the statement handle inside the
// Flight SQL TicketStatementQuery of a FlightInfo's endpoint.
//
// Layout (version 1):
//
//	magic   "tq"
//	version 1
//	kind    1 = statement (the SQL follows), 2 = prepared (its handle follows)
//	id      16 random bytes: the execution's id, for CancelFlightInfo
//	timeout uvarint milliseconds the client asked for; 0 = none
//	length  uvarint byte length of the text
//	text    the SQL (UTF-8) or the prepared statement's handle
//
// Nothing may follow the text. A ticket carries no credentials: redeeming
// it runs what the same caller could have sent as SQL, and its timeout can
// only lower the server's.
type ticket struct {
	kind    ticketKind
	id      queryID
	timeout time.Duration
	// text is the SQL of a statement or the handle of a prepared statement.
	text string
}

type ticketKind byte

const (
	ticketStatement ticketKind = 1
	ticketPrepared  ticketKind = 2
)

// queryID identifies one execution of a query.
type queryID [16]byte

func (id queryID) String() string { return hex.EncodeToString(id[:]) }

func newQueryID() queryID {
	var id queryID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	return id
}

const (
	ticketMagic   = "tq"
	ticketVersion = 1
	// maxTicketText bounds the text of a ticket: gRPC's default message
	// limit is 4 MiB, and no SQL a person writes comes near 1 MiB.
	maxTicketText = 1 << 20
)

// errBadTicket is returned for a ticket this server did not issue.
var errBadTicket = fmt.Errorf("%w: malformed ticket", errInvalid)

func (t ticket) encode() []byte {
	b := make([]byte, 0, 3+1+16+2*binary.MaxVarintLen64+len(t.text))
	b = append(b, ticketMagic...)
	b = append(b, ticketVersion, byte(t.kind))
	b = append(b, t.id[:]...)
	b = binary.AppendUvarint(b, uint64(t.timeout/time.Millisecond))
	b = binary.AppendUvarint(b, uint64(len(t.text)))
	return append(b, t.text...)
}

// decodeTicket parses a ticket made by encode. Any other input fails with
// an error wrapping errBadTicket.
func decodeTicket(b []byte) (ticket, error) {
	var t ticket
	bad := func(why string) (ticket, error) { return ticket{}, fmt.Errorf("%w: %s", errBadTicket, why) }
	if len(b) < 4+len(t.id) || string(b[:2]) != ticketMagic {
		return bad("not a tael ticket")
	}
	if b[2] != ticketVersion {
		return bad(fmt.Sprintf("version %d", b[2]))
	}
	t.kind = ticketKind(b[3])
	if t.kind != ticketStatement && t.kind != ticketPrepared {
		return bad(fmt.Sprintf("kind %d", b[3]))
	}
	b = b[4:]
	copy(t.id[:], b)
	b = b[len(t.id):]
	ms, n := uvarint(b)
	if n <= 0 || ms > uint64(maxDuration/time.Millisecond) {
		return bad("timeout")
	}
	t.timeout = time.Duration(ms) * time.Millisecond
	b = b[n:]
	l, n := uvarint(b)
	if n <= 0 || l > maxTicketText || l != uint64(len(b)-n) {
		return bad("length")
	}
	t.text = string(b[n:])
	if t.kind == ticketStatement && !utf8.ValidString(t.text) {
		return bad("SQL is not UTF-8")
	}
	return t, nil
}

const maxDuration = time.Duration(1<<63 - 1)

// uvarint is binary.Uvarint accepting only the shortest encoding, so that
// each ticket has one encoding (found by FuzzDecodeTicket: 0x8d 0x00 is 13).
func uvarint(b []byte) (uint64, int) {
	v, n := binary.Uvarint(b)
	if n > 0 && n != len(binary.AppendUvarint(nil, v)) {
		return 0, -1
	}
	return v, n
}

// flightTicket wraps t as Flight SQL's TicketStatementQuery.
func (t ticket) flightTicket() (*flight.Ticket, error) {
	b, err := flightsql.CreateStatementQueryTicket(t.encode())
	if err != nil {
		return nil, fmt.Errorf("encode ticket: %w", err)
	}
	return &flight.Ticket{Ticket: b}, nil
}

// ticketOf returns the tael ticket inside a Flight ticket.
func ticketOf(ft *flight.Ticket) (ticket, error) {
	if ft == nil {
		return ticket{}, fmt.Errorf("%w: no ticket", errBadTicket)
	}
	sq, err := flightsql.GetStatementQueryTicket(ft)
	if err != nil {
		return ticket{}, fmt.Errorf("%w: %v", errBadTicket, err)
	}
	return decodeTicket(sq.GetStatementHandle())
}
