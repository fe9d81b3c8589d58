package duck

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

const tableTraceComments = schema.TraceComments

// insertRE matches INSERT INTO trace_comments [(columns)] VALUES …|SELECT …|WITH …
var insertRE = regexp.MustCompile(`(?is)^\s*insert\s+into\s+(?:(?:"?tael"?\s*\.\s*)?"?main"?\s*\.\s*)?"?trace_comments"?\s*(?:\(([^)]*)\))?\s*((?:values|select|with|from)\b.*?)\s*;?\s*$`)

// insertLike matches any INSERT, to tell a refused one from other SQL.
var insertLike = regexp.MustCompile(`(?is)^\s*insert\b`)

// insertPlan is an INSERT INTO trace_comments: the query producing its
// rows and the columns they fill.
type insertPlan struct {
	source  string
	columns []string
}

// parseInsert recognises INSERT INTO trace_comments. ok is false for any
// other statement; err is set for an INSERT that cannot be run.
func parseInsert(query string) (*insertPlan, bool, error) {
	m := insertRE.FindStringSubmatch(query)
	if m == nil {
		if insertLike.MatchString(query) {
			return nil, false, fmt.Errorf("%w: only INSERT INTO trace_comments is allowed", ErrReadOnly)
		}
		return nil, false, nil
	}
	t, _ := schema.ByID(tableTraceComments)
	var cols []string
	if strings.TrimSpace(m[1]) == "" {
		for _, f := range t.Schema.Fields() {
			cols = append(cols, f.Name)
		}
	} else {
		for _, c := range strings.Split(m[1], ",") {
			c = strings.ToLower(strings.Trim(strings.TrimSpace(c), `"`))
			if len(t.Schema.FieldIndices(c)) == 0 {
				return nil, true, fmt.Errorf("%w: trace_comments has no column %q", ErrInvalid, c)
			}
			cols = append(cols, c)
		}
	}
	aliases := make([]string, len(cols))
	for i, c := range cols {
		aliases[i] = ident(c)
	}
	body := m[2]
	src := fmt.Sprintf("SELECT * FROM (%s) AS _ins(%s)", body, strings.Join(aliases, ", "))
	return &insertPlan{source: src, columns: cols}, true, nil
}

// rows reads the source query's rows and builds a trace_comments batch:
// id defaults to a new random id, created_at to now; trace_id and body are
// required.
func (p *insertPlan) rows(mem memory.Allocator, r *reader, now time.Time) (arrow.RecordBatch, error) {
	t, _ := schema.ByID(tableTraceComments)
	b := array.NewRecordBuilder(mem, t.Schema)
	defer b.Release()
	src := map[string]int{}
	for i, c := range p.columns {
		src[c] = i
	}
	n := 0
	for r.Next() {
		rec := r.RecordBatch()
		for row := range int(rec.NumRows()) {
			n++
			get := func(name string) (string, bool) {
				i, ok := src[name]
				if !ok {
					return "", false
				}
				col := rec.Column(i)
				if col.IsNull(row) {
					return "", false
				}
				return col.ValueStr(row), true
			}
			for fi, f := range t.Schema.Fields() {
				fb := b.Field(fi)
				if f.Name == "created_at" {
					ts := now.UnixNano()
					if i, ok := src["created_at"]; ok && !rec.Column(i).IsNull(row) {
						c, ok := rec.Column(i).(*array.Timestamp)
						if !ok {
							return nil, fmt.Errorf("%w: created_at must be a timestamp, got %s", ErrInvalid, rec.Column(i).DataType())
						}
						ts = int64(c.Value(row))
					}
					fb.(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
					continue
				}
				v, ok := get(f.Name)
				sb := fb.(*array.StringBuilder)
				switch {
				case ok:
					sb.Append(v)
				case f.Name == "id":
					sb.Append(newID())
				case !f.Nullable:
					return nil, fmt.Errorf("%w: row %d: trace_comments.%s must not be null", ErrInvalid, n, f.Name)
				default:
					sb.AppendNull()
				}
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// newID returns a random 128-bit id in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
