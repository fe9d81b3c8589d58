package promql

import (
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// memSeries is a series with its float samples in memory, sorted by time
// (once Select returns it).
type memSeries struct {
	lset labels.Labels
	t    []int64 // Unix ms
	f    []float64
	// unsorted is set while loading when a sample came before the previous.
	unsorted bool
}

var (
	_ storage.Series    = (*memSeries)(nil)
	_ storage.SeriesSet = (*seriesSet)(nil)
	_ chunkenc.Iterator = (*sampleIterator)(nil)
)

func (s *memSeries) Labels() labels.Labels { return s.lset }

// Iterator returns an iterator over the samples, reusing it if it is one of
// ours.
func (s *memSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	si, ok := it.(*sampleIterator)
	if !ok {
		si = &sampleIterator{}
	}
	*si = sampleIterator{t: s.t, f: s.f, i: -1}
	return si
}

// seriesSet iterates over series sorted by labels.
type seriesSet struct {
	series []*memSeries
	i      int
	ws     annotations.Annotations
}

func (s *seriesSet) Next() bool {
	if s.i < len(s.series) {
		s.i++
	}
	return s.i < len(s.series)
}

func (s *seriesSet) At() storage.Series                { return s.series[s.i] }
func (*seriesSet) Err() error                          { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return s.ws }

// sampleIterator iterates over float samples sorted by time.
type sampleIterator struct {
	t []int64
	f []float64
	i int // -1 before the first Next or Seek
}

func (it *sampleIterator) Next() chunkenc.ValueType {
	if it.i < len(it.t) {
		it.i++
	}
	if it.i < len(it.t) {
		return chunkenc.ValFloat
	}
	return chunkenc.ValNone
}

// millis is Unix milliseconds. Seek's parameter has this alias of int64
// only so that go vet's stdmethods check, which holds any method named Seek
// to io.Seeker's signature, leaves chunkenc.Iterator's Seek alone.
type millis = int64

func (it *sampleIterator) Seek(t millis) chunkenc.ValueType {
	it.i = max(it.i, 0)
	if it.i >= len(it.t) {
		return chunkenc.ValNone
	}
	if it.t[it.i] < t {
		rest := it.t[it.i:]
		it.i += sort.Search(len(rest), func(j int) bool { return rest[j] >= t })
		if it.i >= len(it.t) {
			return chunkenc.ValNone
		}
	}
	return chunkenc.ValFloat
}

func (it *sampleIterator) At() (int64, float64) { return it.t[it.i], it.f[it.i] }

// AtHistogram is never called: the iterator has float samples only.
func (it *sampleIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return it.t[it.i], nil
}

// AtFloatHistogram is never called: the iterator has float samples only.
func (it *sampleIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.t[it.i], nil
}

func (it *sampleIterator) AtT() int64 { return it.t[it.i] }

// AtST returns 0: the metrics table keeps no start timestamps.
func (*sampleIterator) AtST() int64 { return 0 }
func (*sampleIterator) Err() error  { return nil }
