package analytics

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/schema"
)

// TailSpans returns the spans appended since cursor, oldest first, and the
// cursor to pass next time. Cursor 0 means "from now": it returns no spans,
// only a cursor. A cursor is the next WAL record to read (never 0 once
// returned), so a tail started on an empty store still gets the first batch. A live tail
// polls it. Spans come in whole WAL records: those that begin within the
// first n matching rows (n: 0 means DefaultRows), so a poll may return more
// than n.
func (s *Service) TailSpans(ctx context.Context, service string, cursor uint64, n int) ([]Span, uint64, error) {
	out := []Span{}
	var cond string
	var params []any
	if service != "" {
		cond, params = " AND service = ?", []any{service}
	}
	next, err := s.tail(ctx, "spans", "start_time, span_id", cond, params, cursor, n, func(rec arrow.RecordBatch) {
		out = append(out, spansOf(rec)...)
	})
	return out, next, err
}

// TailLogs is TailSpans for logs; severity is a minimum as in LogFilter.
func (s *Service) TailLogs(ctx context.Context, service, severity string, cursor uint64, n int) ([]Log, uint64, error) {
	sevs, err := atLeast(severity)
	if err != nil {
		return nil, 0, err
	}
	out := []Log{}
	var cond string
	var params []any
	if service != "" {
		cond, params = " AND service = ?", []any{service}
	}
	if severity != "" {
		cond += " AND severity IN (" + placeholders(len(sevs)) + ")"
		params = append(params, anys(sevs)...)
	}
	next, err := s.tail(ctx, "logs", "timestamp, span_id, body", cond, params, cursor, n, func(rec arrow.RecordBatch) {
		out = append(out, logsOf(rec)...)
	})
	return out, next, err
}

// tail reads the rows of the mirror's hot table whose WAL record is cursor
// or later, up to the engine's applied watermark, and that match cond,
// whole records at a time. Records are applied out of order: reading past
// the watermark could return record 11 before record 10 arrives, and the
// next poll, starting after 11, would never see 10. The records taken
// are those that begin within the first n matching rows, so a record is
// never split between two polls and at least one is returned when there is
// one. It returns the LSN after the last one read, or cursor when there was
// nothing new. Cursor 0 reads nothing and returns the cursor after the
// watermark; n 0 means DefaultRows.
func (s *Service) tail(ctx context.Context, table, order, cond string, params []any, cursor uint64, n int,
	add func(arrow.RecordBatch)) (uint64, error) {
	n, err := limit(n, DefaultRows)
	if err != nil {
		return 0, err
	}
	if cursor == 0 {
		return s.e.AppliedLSN() + 1, nil
	}
	t, err := schema.ByName(table)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	q := `WITH recs AS (
  SELECT _lsn, count(*) AS n FROM _hot.` + table + ` WHERE _lsn >= ? AND _lsn <= ?` + cond + ` GROUP BY _lsn
), picked AS (
  SELECT _lsn FROM recs QUALIFY sum(n) OVER (ORDER BY _lsn) - n < ?
)
SELECT ` + columns(t.ID, "") + `, _lsn FROM _hot.` + table + `
WHERE _lsn IN (SELECT _lsn FROM picked)` + cond + `
ORDER BY _lsn, ` + order
	all := append([]any{cursor, s.e.AppliedLSN()}, params...)
	all = append(all, int64(n))
	all = append(all, params...)
	next := cursor
	err = s.each(ctx, q, all, func(rec arrow.RecordBatch) error {
		add(rec)
		lsns := record{rec}.col("_lsn")
		if k := int(rec.NumRows()) - 1; k >= 0 {
			next = max(next, u64(lsns, k)+1)
		}
		return nil
	})
	if err != nil {
		return cursor, err
	}
	return next, nil
}
