package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/engine/blob"
	"github.com/tael/tael/engine/hot"
	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// The crash test runs this test binary as a child process that appends span
// batches to an engine and prints "ack <k> <lsn>" for each batch k whose
// Append returned; the parent kill -9s it at a random moment, reopens the
// engine and checks every acknowledged batch is present exactly once and no
// other batch is half-present. Batch k's rows are the only rows in the time
// slot [crashBase+k*crashSlot, crashBase+(k+1)*crashSlot).
const (
	crashDirEnv   = "TAEL_CRASH_CHILD_DIR"
	crashNextEnv  = "TAEL_CRASH_CHILD_NEXT"
	crashSlot     = time.Second
	crashAppender = 4
)

var crashBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func crashRows(k int) int { return 100 + (k*37)%400 }

func crashPrompt(k int) Blob {
	text := fmt.Sprintf("user: summarise batch %d", k)
	return Blob{SHA256: blob.SHA256(text), Kind: blob.KindPrompt, Text: text, TraceID: synth.TraceID(uint64(k), 0)}
}

func crashOptions() Options {
	return Options{
		CheckpointInterval: 20 * time.Millisecond,
		WALSegmentSize:     1 << 20,
		HotBucketWidth:     10 * time.Second,
		// The batches are older than the hot window: compaction moves
		// them to Parquet while the child runs, so kills land in every
		// step of it too.
		CompactInterval: 20 * time.Millisecond,
	}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		next, _ := strconv.Atoi(os.Getenv(crashNextEnv))
		crashChild(dir, next)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashChild(dir string, next int) {
	e, err := Open(context.Background(), dir, crashOptions())
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format, args...)
		out.Flush()
		mu.Unlock()
	}
	say("ready\n")
	k := atomic.Int64{}
	k.Store(int64(next))
	var wg sync.WaitGroup
	for range crashAppender {
		wg.Go(func() {
			for {
				i := int(k.Add(1) - 1)
				// Like an OTLP receiver: the span's prompt text first, then
				// the spans.
				p := payloadBatch(memory.DefaultAllocator, crashPrompt(i))
				_, err := e.Append(context.Background(), schema.LLMPayloads, p)
				p.Release()
				if err != nil {
					say("error %v\n", err)
					return
				}
				rec := synth.Spans(memory.DefaultAllocator, synth.SpanOptions{
					Rows: crashRows(i), Start: crashBase.Add(time.Duration(i) * crashSlot), Step: time.Millisecond, Seed: uint64(i),
				})
				lsn, err := e.Append(context.Background(), schema.Spans, rec)
				rec.Release()
				if err != nil {
					say("error %v\n", err)
					return
				}
				say("ack %d %d\n", i, lsn)
			}
		})
	}
	wg.Wait()
}

func TestCrashRecovery(t *testing.T) {
	rounds := 25
	if os.Getenv("TAEL_SOAK") != "" {
		rounds = 300
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	acked := map[int]bool{}
	next := 0
	for round := range rounds {
		kill := time.Duration(10+rng.IntN(300)) * time.Millisecond
		// One round in five kills the child while it may still be opening
		// the engine and replaying the WAL.
		early := rng.IntN(5) == 0
		if early {
			kill = time.Duration(rng.IntN(40)) * time.Millisecond
		}
		got := runCrashChild(t, dir, next, kill, early)
		for _, k := range got {
			acked[k] = true
		}
		present := verifyCrashDir(t, dir, acked)
		for k := range present {
			next = max(next, k+1)
		}
		for k := range acked {
			next = max(next, k+1)
		}
		t.Logf("round %d: killed after %v (early: %v), %d acks this round, %d batches acked in all, %d present", round, kill, early, len(got), len(acked), len(present))
	}
	if len(acked) == 0 {
		t.Fatal("no batch was ever acknowledged")
	}
	// Every acknowledged prompt is also found by full-text search once the
	// restarted engine has indexed what the crashes left pending.
	e, err := Open(context.Background(), dir, crashOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if n := len(e.cold.Manifest().Files); n == 0 {
		t.Error("no cold file: compaction never ran between the kills")
	} else {
		t.Logf("%d cold files after the rounds", n)
	}
	checked := 0
	for k := range acked {
		if checked++; checked > 100 {
			break // a random sample: map order
		}
		hits := waitSearch(t, e, fmt.Sprintf("%q", fmt.Sprintf("summarise batch %d", k)))
		if hits[0].SHA256 != crashPrompt(k).SHA256 {
			t.Errorf("search for batch %d found %+v", k, hits[0])
		}
	}
}

// runCrashChild starts the child, lets it append for d after it is ready
// (after it starts, when early), kill -9s it and returns the batches it
// acknowledged.
func runCrashChild(t *testing.T, dir string, next int, d time.Duration, early bool) []int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashNextEnv+"="+strconv.Itoa(next))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []int
	readyc := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "ready":
				ready = true
				close(readyc)
			case strings.HasPrefix(line, "ack "):
				f := strings.Fields(line)
				k, _ := strconv.Atoi(f[1])
				acks = append(acks, k)
			case strings.HasPrefix(line, "error "):
				done <- fmt.Errorf("child: %s", line)
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		if !ready {
			close(readyc)
		}
		done <- nil
	}()
	if !early {
		select {
		case <-readyc:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child did not open the engine within 30s")
		}
	}
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return acks
}

// verifyCrashDir reopens the engine and checks every batch: acknowledged ones
// whole and once, others whole or absent. It returns the batches present.
func verifyCrashDir(t *testing.T, dir string, acked map[int]bool) map[int]bool {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	o := crashOptions()
	o.Allocator = mem
	e, err := Open(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	t.Logf("cold files: %d, quarantined: %v", len(e.cold.Manifest().Files), e.cold.Quarantined())
	counts := map[int]int{}
	rr, err := e.Scan(context.Background(), schema.Spans, schema.AllTime, []string{"start_time"})
	if err != nil {
		t.Fatal(err)
	}
	for rr.Next() {
		col := rr.RecordBatch().Column(0).(*array.Timestamp)
		for i := range col.Len() {
			off := time.Duration(int64(col.Value(i)) - crashBase.UnixNano())
			counts[int(off/crashSlot)]++
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	present := map[int]bool{}
	for k, n := range counts {
		if n != crashRows(k) {
			t.Errorf("batch %d: %d rows present, want %d or none (acknowledged: %v)", k, n, crashRows(k), acked[k])
		}
		present[k] = true
	}
	for k := range acked {
		if counts[k] == 0 {
			t.Errorf("acknowledged batch %d lost (start %s)", k, crashBase.Add(time.Duration(k)*crashSlot).Format(time.RFC3339Nano))
		}
		if b, err := e.Blob(context.Background(), crashPrompt(k).SHA256); err != nil || b.Text != crashPrompt(k).Text {
			t.Errorf("acknowledged batch %d: prompt %+v, %v", k, b, err)
		}
	}
	if t.Failed() {
		m := e.cold.Manifest()
		t.Logf("manifest v%d moved %+v", m.Version, m.Moved)
		for _, f := range m.Files {
			t.Logf("file %s rows %d time %s .. %s", f.Path, f.Rows, time.Unix(0, f.MinTime).UTC().Format(time.RFC3339Nano), time.Unix(0, f.MaxTime).UTC().Format(time.RFC3339Nano))
		}
		t.Logf("garbage %v quarantined %v hot applied %d", m.Garbage, e.cold.Quarantined(), e.applied.get())
		raw := map[int]int{}
		err := e.hot.ScanBatches(context.Background(), schema.Spans, schema.AllTime, hot.Moved{}, func(lsn uint64, rec arrow.RecordBatch) error {
			col := rec.Column(7).(*array.Timestamp)
			raw[int(time.Duration(int64(col.Value(0))-crashBase.UnixNano())/crashSlot)] += col.Len()
			return nil
		})
		t.Logf("hot rows ignoring the mark, by batch: %v (err %v)", raw, err)
		_ = filepath.Walk(filepath.Join(e.cold.Dir()), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				t.Logf("on disk: %s (%d bytes)", p, info.Size())
			}
			return nil
		})
		for _, f := range m.Garbage {
			st, err := os.Stat(filepath.Join(e.cold.Dir(), f.Path))
			t.Logf("garbage file %s: %v %v", f.Path, st != nil, err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	if t.Failed() {
		t.FailNow()
	}
	return present
}
