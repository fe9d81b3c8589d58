package duck

import (
	"fmt"
	"strings"
)

// llm_payloads holds each text once, however many spans reference it (a
// system prompt is sent with every request): _hot.payload_texts has one row
// per text, _hot.payload_refs one per referencing span, and the view joins
// them into the table's rows (a text no span references has null trace_id
// and span_id). A batch the engine applies lands in _hot.llm_payloads, a
// staging table, from which payloadMergeSQL moves new texts and the
// references, in the mirror's transaction order.
const payloadTablesSQL = `
CREATE TABLE _hot.payload_texts (sha256 VARCHAR, kind VARCHAR, text VARCHAR);
CREATE TABLE _hot.payload_refs (sha256 VARCHAR, trace_id VARCHAR, span_id VARCHAR);
CREATE OR REPLACE VIEW main.llm_payloads AS
  SELECT t.sha256, t.kind, t.text, r.trace_id, r.span_id
  FROM _hot.payload_texts t LEFT JOIN _hot.payload_refs r ON r.sha256 = t.sha256;
`

const payloadMergeSQL = `
BEGIN TRANSACTION;
INSERT INTO _hot.payload_texts
  SELECT sha256, any_value(kind), any_value(text) FROM _hot.llm_payloads s
  WHERE NOT EXISTS (SELECT 1 FROM _hot.payload_texts t WHERE t.sha256 = s.sha256)
  GROUP BY sha256;
INSERT INTO _hot.payload_refs
  SELECT DISTINCT sha256, trace_id, span_id FROM _hot.llm_payloads
  WHERE coalesce(trace_id, '') <> '' OR coalesce(span_id, '') <> '';
DELETE FROM _hot.llm_payloads;
COMMIT;`

// Forget drops the texts blob GC deleted, with their references.
func (d *DB) Forget(sha256s []string) error {
	if len(sha256s) == 0 {
		return nil
	}
	d.mirror.Lock()
	defer d.mirror.Unlock()
	if d.mirror.c == nil {
		return ErrClosed
	}
	q := make([]string, len(sha256s))
	for i, s := range sha256s {
		q[i] = quote(s)
	}
	in := strings.Join(q, ", ")
	err := d.mirror.c.exec(fmt.Sprintf("BEGIN TRANSACTION; DELETE FROM _hot.payload_refs WHERE sha256 IN (%s); DELETE FROM _hot.payload_texts WHERE sha256 IN (%s); COMMIT;", in, in))
	if err != nil {
		_ = d.mirror.c.exec("ROLLBACK")
		return fmt.Errorf("duck: forget texts: %w", err)
	}
	return nil
}
