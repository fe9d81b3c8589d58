package fts

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test runs this test binary as a child process that indexes
// documents [from, to) of crashDoc, calls Flush, prints "flushed", and then
// keeps indexing documents from `to` on until it is killed. The parent
// kill -9s it as soon as it reads "flushed", reopens the index and checks that
// every document before `to` is there. Rounds reuse the directory, so later
// rounds also recover an index that was killed mid-write.
const (
	crashDirEnv  = "TAEL_FTS_CRASH_DIR"
	crashFromEnv = "TAEL_FTS_CRASH_FROM"
	crashToEnv   = "TAEL_FTS_CRASH_TO"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		from, _ := strconv.Atoi(os.Getenv(crashFromEnv))
		to, _ := strconv.Atoi(os.Getenv(crashToEnv))
		if err := crashChild(dir, from, to); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashDoc is document i of the crash test: a completion with a word of its
// own, so each can be searched for.
func crashDoc(i int) Doc {
	return doc(KindCompletion, fmt.Sprintf(
		"Completion crashdoc%06d: the model answered the user's question about order %d in detail, "+
			"listing the steps it took and the tools it called.", i, i))
}

func crashChild(dir string, from, to int) error {
	ctx := context.Background()
	x, err := Open(dir, Options{BatchSize: 50})
	if err != nil {
		return err
	}
	// Several calls, as the engine applies several WAL records.
	for i := from; i < to; i += 100 {
		var docs []Doc
		for j := i; j < min(i+100, to); j++ {
			docs = append(docs, crashDoc(j))
		}
		if err := x.Index(ctx, docs); err != nil {
			return err
		}
	}
	if err := x.Flush(); err != nil {
		return err
	}
	fmt.Println("flushed")
	// Keep writing, so the kill lands while batches are in flight.
	for i := to; ; i++ {
		if err := x.Index(ctx, []Doc{crashDoc(i)}); err != nil {
			return err
		}
	}
}

func TestFlushSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	ctx := context.Background()
	from := 0
	for round, n := range []int{1000, 700, 1} {
		to := from + n
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			crashDirEnv+"="+dir,
			crashFromEnv+"="+strconv.Itoa(from),
			crashToEnv+"="+strconv.Itoa(to))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if line != "flushed\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("round %d: child said %q, %v", round, line, err)
		}
		// Let it write a little past the flush, then kill it.
		time.Sleep(time.Duration(round) * 20 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child not killed: %v", round, err)
		}

		x := openTest(t, dir)
		var ids []string
		for i := range to {
			ids = append(ids, crashDoc(i).ID)
		}
		have, err := x.storedKinds(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		for i, id := range ids {
			if _, ok := have[id]; !ok {
				missing = append(missing, strconv.Itoa(i))
			}
		}
		if len(missing) > 0 {
			t.Fatalf("round %d: %d flushed docs lost, e.g. %s", round, len(missing), strings.Join(missing[:min(len(missing), 10)], ","))
		}
		// And they are searchable, not just present.
		for _, i := range []int{0, from, to - 1} {
			hits, err := x.Search(ctx, fmt.Sprintf("crashdoc%06d", i), nil, 0)
			if err != nil || len(hits) != 1 || hits[0].ID != ids[i] {
				t.Fatalf("round %d: Search(crashdoc%06d) = %v, %v", round, i, hits, err)
			}
		}
		n, _ := x.Count()
		t.Logf("round %d: %d docs flushed in total, %d found after kill -9", round, to, n)
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		from = to
	}
}
