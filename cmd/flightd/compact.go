package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/duration"
)

// compact runs `flightd compact`: with the server stopped, move hot rows to
// Parquet now.
func compact(args []string) int {
	fs := flag.NewFlagSet("flightd compact", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./data", "data directory (the server must be stopped)")
	var olderThan time.Duration
	fs.Var(duration.Value{D: &olderThan}, "older-than", "move hot rows older than this (0s moves every row); default the hot window, 15m")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: flightd compact --data-dir DIR [--older-than DUR]\n\nMoves hot rows to the Parquet cold tier, writes metric rollups and merges\ncomplete hours, with the server stopped.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	olderThan = -1
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "flightd compact: %v\n", err)
		return 2
	}
	log, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "flightd compact: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	eo := engine.DefaultOptions()
	eo.Logger = log.With("component", "engine")
	eo.CompactInterval = -1
	eng, err := engine.Open(ctx, *dataDir, eo)
	if err != nil {
		log.Error("flightd compact: open data directory", "err", err)
		return 1
	}
	co := engine.CompactOptions{}
	switch {
	case olderThan == 0:
		co.All = true
	case olderThan > 0:
		co.OlderThan = olderThan
	}
	var p *progress
	if isTerminal(os.Stderr) {
		p = &progress{w: os.Stderr, start: time.Now()}
		co.Progress = p.show
	}
	st, err := eng.Compact(ctx, co)
	if p != nil {
		p.done()
	}
	if cerr := eng.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Error("flightd compact failed; the hot tier is intact", "err", err)
		return 1
	}
	log.Info("flightd compact done", "rows", st.Rows, "files", st.Files, "bytes", st.Bytes,
		"merged_hours", st.Merged, "took", st.Took.Round(time.Millisecond),
		"rows_per_second", int64(float64(st.Rows)/max(st.Took.Seconds(), 1e-9)))
	return 0
}

// progress draws one self-updating status line on a terminal.
type progress struct {
	w     io.Writer
	start time.Time
	shown bool
}

func (p *progress) show(st engine.CompactStats) {
	el := time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r\033[Kcompacting: %d rows, %d files, %.1f MB, %.0f rows/s",
		st.Rows, st.Files, float64(st.Bytes)/1e6, float64(st.Rows)/max(el, 1e-9))
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
