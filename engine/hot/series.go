package hot

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/schema"
)

// Series is a metric series of the hot tier.
type Series struct {
	// ID is the series' metrics.series_id.
	ID uint64
	// Labels are __name__ (metrics.name) and every key of metrics.labels.
	Labels labels.Labels
}

// pointLookupLimit is the most (series, bucket) activity keys Series looks up
// one by one; above it, it scans the activity keys of the whole range. A
// lookup of an absent key stops at Badger's bloom filters but still costs
// about as much as stepping over a few hundred keys in a scan, so the limit
// is a rough break-even, not a measured optimum.
const pointLookupLimit = 1024

// Series returns the series matching every matcher that have a point in a
// bucket overlapping tr, sorted by labels. The time restriction has bucket
// granularity (Options.BucketWidth): a series whose points in tr's first or
// last bucket all lie outside tr is returned too. Matchers have Prometheus
// semantics: one that matches the empty string also matches series without
// its label.
func (s *Store) Series(ctx context.Context, matchers []*labels.Matcher, tr schema.TimeRange) ([]Series, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if tr.Empty() {
		return nil, nil
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()

	// Candidates come from the postings of the matchers that need their
	// label to be set; nil means every series.
	var cands map[uint64]struct{}
	for _, m := range matchers {
		if m.Matches("") {
			continue
		}
		ids, err := s.postings(ctx, txn, m)
		if err != nil {
			return nil, err
		}
		cands = intersect(cands, ids)
		if len(cands) == 0 {
			return nil, nil
		}
	}
	active, err := s.active(ctx, txn, cands, tr)
	if err != nil {
		return nil, err
	}

	var (
		out []Series
		b   labels.ScratchBuilder
	)
	for id := range active {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		item, err := txn.Get(seriesKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue // activity written by a transaction that was cut in several
		}
		if err != nil {
			return nil, fmt.Errorf("hot: read series %d: %w", id, err)
		}
		var ls labels.Labels
		if err := item.Value(func(v []byte) error {
			ls, err = decodeLabels(&b, v)
			return err
		}); err != nil {
			return nil, err
		}
		if MatchesAll(matchers, ls) {
			out = append(out, Series{ID: id, Labels: ls})
		}
	}
	slices.SortFunc(out, func(a, b Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out, nil
}

// MatchesAll reports whether ls satisfies every matcher (Prometheus
// semantics: a missing label has the empty value).
func MatchesAll(ms []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// intersect returns the ids in both a and b, where a nil a means every id.
func intersect(a, b map[uint64]struct{}) map[uint64]struct{} {
	if a == nil {
		return b
	}
	if len(b) < len(a) {
		a, b = b, a
	}
	out := make(map[uint64]struct{}, len(a))
	for id := range a {
		if _, ok := b[id]; ok {
			out[id] = struct{}{}
		}
	}
	return out
}

// postings returns the ids of the series with a value of m's label that m
// matches: one posting list for an equality or a regexp that is a set of
// values, otherwise every posting of the label, each value tested once.
func (s *Store) postings(ctx context.Context, txn *badger.Txn, m *labels.Matcher) (map[uint64]struct{}, error) {
	ids := make(map[uint64]struct{})
	var values []string
	switch m.Type {
	case labels.MatchEqual:
		values = []string{m.Value}
	case labels.MatchRegexp:
		values = m.SetMatches()
	}
	if values != nil {
		for _, v := range values {
			prefix := postingValuePrefix(m.Name, v)
			if err := scanPostings(ctx, txn, prefix, len(postingNamePrefix(m.Name)), func(string) bool { return true }, ids); err != nil {
				return nil, err
			}
		}
		return ids, nil
	}
	prefix := postingNamePrefix(m.Name)
	var (
		last    string
		matched bool
		first   = true
	)
	match := func(v string) bool {
		if first || v != last {
			first, last, matched = false, v, m.Matches(v)
		}
		return matched
	}
	if err := scanPostings(ctx, txn, prefix, len(prefix), match, ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// scanPostings adds to ids the series of the postings under prefix whose
// value match accepts; n is the length of their label name prefix.
func scanPostings(ctx context.Context, txn *badger.Txn, prefix []byte, n int, match func(string) bool, ids map[uint64]struct{}) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Seek(prefix)
	for i := 0; it.ValidForPrefix(prefix); i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, id, err := parsePostingValue(it.Item().Key(), n)
		if err != nil {
			return err
		}
		if match(v) {
			ids[id] = struct{}{}
		}
		it.Next()
	}
	return nil
}

// active returns the series among cands (every series for nil) with an
// activity key in a bucket overlapping tr.
func (s *Store) active(ctx context.Context, txn *badger.Txn, cands map[uint64]struct{}, tr schema.TimeRange) (map[uint64]struct{}, error) {
	bMin, bMax := bucketOf(tr.Min, s.width), bucketOf(tr.Max-1, s.width)
	// No activity key lies below the low-water mark (txn is open).
	bMin = s.low.startBucket(activityFamily, bMin)
	if bMin > bMax {
		return map[uint64]struct{}{}, nil
	}
	buckets := uint64(bMax) - uint64(bMin) + 1 // 0 if every int64 is a bucket
	if cands != nil && buckets != 0 && buckets <= pointLookupLimit && uint64(len(cands))*buckets <= pointLookupLimit {
		out := make(map[uint64]struct{})
		for id := range cands {
			for b := bMin; ; b++ {
				_, err := txn.Get(activityKey(b, id))
				if err == nil {
					out[id] = struct{}{}
					break
				}
				if !errors.Is(err, badger.ErrKeyNotFound) {
					return nil, fmt.Errorf("hot: read series activity: %w", err)
				}
				if b == bMax {
					break
				}
			}
		}
		return out, nil
	}

	out := make(map[uint64]struct{})
	prefix := []byte{prefixActivity}
	start := activityBucketKey(bMin)
	end := afterPrefix(activityBucketKey(bMax), activityKeyLen)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Seek(start)
	for i := 0; it.ValidForPrefix(prefix); i++ {
		k := it.Item().Key()
		if bytes.Compare(k, end) >= 0 {
			break
		}
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if len(k) != activityKeyLen {
			return nil, fmt.Errorf("%w: activity key %x", errKey, k)
		}
		id := binary.BigEndian.Uint64(k[9:])
		if cands == nil {
			out[id] = struct{}{}
		} else if _, ok := cands[id]; ok {
			out[id] = struct{}{}
		}
		it.Next()
	}
	return out, nil
}
