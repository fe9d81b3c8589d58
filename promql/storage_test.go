package promql

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/schema"
)

// testStorage is the storage.Storage Prometheus's acceptance suite runs
// against: its appenders buffer float samples and Commit appends them to a
// fresh engine through Engine.Append, as ingest does; queries go through
// Queryable. It keeps neither native histogram samples (the metrics table
// holds floats only: they are counted in droppedHistograms and dropped) nor
// start timestamps (the metrics table has no column for them).
type testStorage struct {
	*Queryable
	e *engine.Engine
	// cold makes Commit compact everything it appended to the cold tier.
	cold              bool
	droppedHistograms atomic.Int64
}

var _ storage.Storage = (*testStorage)(nil)

func newTestStorage(e *engine.Engine, cold bool) *testStorage {
	return &testStorage{Queryable: NewQueryable(e, Options{}), e: e, cold: cold}
}

// enginePool opens engines ahead of their use, each in its own directory:
// opening one takes 0.1–0.3 s, mostly waiting for the file system, and the
// acceptance suite opens one per file and per clear command (about 270).
type enginePool struct {
	ready chan *engine.Engine
	stop  chan struct{}
	done  chan struct{}
	err   error // why ready was closed early; read after ready is closed
}

// newEnginePool keeps ahead engines open and ready until t ends.
func newEnginePool(t *testing.T, ahead int) *enginePool {
	dir := t.TempDir()
	p := &enginePool{ready: make(chan *engine.Engine, ahead), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.ready)
		for i := 0; ; i++ {
			e, err := engine.Open(context.Background(), filepath.Join(dir, strconv.Itoa(i)), engine.Options{CompactInterval: -1})
			if err != nil {
				p.err = err
				return
			}
			select {
			case p.ready <- e:
			case <-p.stop:
				_ = e.Close()
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(p.stop)
		for e := range p.ready {
			_ = e.Close()
		}
		<-p.done
	})
	return p
}

// get returns an open engine, which the caller closes.
func (p *enginePool) get(t testing.TB) *engine.Engine {
	e, ok := <-p.ready
	if !ok {
		t.Fatalf("open engine: %v", p.err)
	}
	return e
}

func (s *testStorage) Close() error                              { return s.e.Close() }
func (*testStorage) StartTime() (int64, error)                   { return 0, nil }
func (s *testStorage) Appender(context.Context) storage.Appender { return &testAppender{s: s} }
func (s *testStorage) AppenderV2(context.Context) storage.AppenderV2 {
	return &testAppenderV2{testAppender{s: s}}
}

// ChunkQuerier encodes Querier's series as chunks; PromQL does not use it.
func (s *testStorage) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	q, err := s.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return chunkQuerier{q}, nil
}

type chunkQuerier struct{ storage.Querier }

func (c chunkQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	return storage.NewSeriesSetToChunkSet(c.Querier.Select(ctx, sortSeries, hints, ms...))
}

type testSample struct {
	ls labels.Labels
	t  int64
	v  float64
	md metadata.Metadata
}

// testAppender buffers samples until Commit.
type testAppender struct {
	s       *testStorage
	samples []testSample
	meta    map[string]metadata.Metadata // by metric name, from UpdateMetadata
}

func (a *testAppender) Append(_ storage.SeriesRef, ls labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	a.samples = append(a.samples, testSample{ls: ls, t: t, v: v})
	return storage.SeriesRef(labels.StableHash(ls)), nil
}

func (a *testAppender) SetOptions(*storage.AppendOptions) {}

func (a *testAppender) AppendExemplar(ref storage.SeriesRef, _ labels.Labels, _ exemplar.Exemplar) (storage.SeriesRef, error) {
	return ref, nil
}

func (a *testAppender) AppendHistogram(_ storage.SeriesRef, ls labels.Labels, _ int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (storage.SeriesRef, error) {
	a.s.droppedHistograms.Add(1)
	return storage.SeriesRef(labels.StableHash(ls)), nil
}

func (a *testAppender) AppendHistogramSTZeroSample(_ storage.SeriesRef, ls labels.Labels, _, _ int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return storage.SeriesRef(labels.StableHash(ls)), nil
}

func (a *testAppender) UpdateMetadata(_ storage.SeriesRef, ls labels.Labels, m metadata.Metadata) (storage.SeriesRef, error) {
	if a.meta == nil {
		a.meta = make(map[string]metadata.Metadata)
	}
	a.meta[ls.Get(labels.MetricName)] = m
	return storage.SeriesRef(labels.StableHash(ls)), nil
}

func (a *testAppender) AppendSTZeroSample(_ storage.SeriesRef, ls labels.Labels, _, _ int64) (storage.SeriesRef, error) {
	return storage.SeriesRef(labels.StableHash(ls)), nil
}

func (a *testAppender) Rollback() error {
	a.samples = nil
	return nil
}

func (a *testAppender) Commit() error {
	defer func() { a.samples = nil }()
	if len(a.samples) == 0 {
		return nil
	}
	for i := range a.samples {
		if m, ok := a.meta[a.samples[i].ls.Get(labels.MetricName)]; ok && a.samples[i].md == (metadata.Metadata{}) {
			a.samples[i].md = m
		}
	}
	rec := metricsBatch(memory.DefaultAllocator, a.samples)
	defer rec.Release()
	if _, err := a.s.e.Append(context.Background(), schema.Metrics, rec); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if a.s.cold {
		if _, err := a.s.e.Compact(context.Background(), engine.CompactOptions{All: true}); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
	}
	return nil
}

// testAppenderV2 is testAppender behind the AppenderV2 interface.
type testAppenderV2 struct{ testAppender }

func (a *testAppenderV2) Append(_ storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	if h != nil || fh != nil {
		a.s.droppedHistograms.Add(1)
	} else {
		a.samples = append(a.samples, testSample{ls: ls, t: t, v: v, md: opts.Metadata})
	}
	return storage.SeriesRef(labels.StableHash(ls)), nil
}

// metricsBatch converts samples to metrics rows as ingest does: name from
// __name__, the other labels in the labels map, service from job (else
// unknown_service), metric_type from the metadata or the __type__ label
// (else unknown), unit likewise from the metadata or __unit__.
func metricsBatch(mem memory.Allocator, samples []testSample) arrow.RecordBatch {
	t, err := schema.ByID(schema.Metrics)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	b := array.NewRecordBuilder(mem, t.Schema)
	defer b.Release()
	ts := b.Field(0).(*array.TimestampBuilder)
	name := b.Field(1).(*array.StringBuilder)
	lm := b.Field(2).(*array.MapBuilder)
	keys := lm.KeyBuilder().(*array.StringBuilder)
	vals := lm.ItemBuilder().(*array.StringBuilder)
	service := b.Field(3).(*array.StringBuilder)
	value := b.Field(4).(*array.Float64Builder)
	typ := b.Field(5).(*array.StringBuilder)
	unit := b.Field(6).(*array.StringBuilder)
	id := b.Field(7).(*array.Uint64Builder)
	for _, s := range samples {
		m := make(map[string]string)
		lm.Append(true)
		s.ls.Range(func(l labels.Label) {
			if l.Name == labels.MetricName || l.Value == "" {
				return
			}
			m[l.Name] = l.Value
			keys.Append(l.Name)
			vals.Append(l.Value)
		})
		n := s.ls.Get(labels.MetricName)
		ts.Append(arrow.Timestamp(s.t * nsPerMs))
		name.Append(n)
		svc := s.ls.Get("job")
		if svc == "" {
			svc = "unknown_service"
		}
		service.Append(svc)
		value.Append(s.v)
		mt := string(s.md.Type)
		if mt == "" {
			mt = s.ls.Get("__type__")
		}
		if mt == "" {
			mt = "unknown"
		}
		typ.Append(mt)
		u := s.md.Unit
		if u == "" {
			u = s.ls.Get("__unit__")
		}
		if u == "" {
			unit.AppendNull()
		} else {
			unit.Append(u)
		}
		id.Append(schema.SeriesID(n, m))
	}
	return b.NewRecordBatch()
}
