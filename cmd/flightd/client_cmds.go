package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tael/tael/analytics"
	"github.com/tael/tael/internal/duration"
)

// commands are the client commands by name.
var commands = map[string]command{
	"query traces": {
		synopsis: "query traces [--service S] [--operation O] [--status unset|ok|error] [--min-duration-ms N] [--max-duration-ms N] [--attribute k=v]… [--text Q] [--last D] [--limit N]",
		help:     "Lists the traces with a span in the window that matches every filter, newest first (GET /api/v1/traces).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			fs.String("service", "", "service `name` (exact)")
			fs.String("operation", "", "operation `substring` (case-sensitive)")
			fs.String("status", "", "span `status`: unset, ok or error")
			fs.Float64("min-duration-ms", 0, "span duration at least this many `ms`")
			fs.Float64("max-duration-ms", 0, "span duration at most this many `ms`")
			fs.Var(&multiFlag{}, "attribute", "span attribute `key=value` (repeatable; all must match)")
			fs.String("text", "", "full-text `query` over the trace's prompts, completions and log bodies")
			lastFlag(fs, "last", "window ending now (default 1h)")
			limitFlag(fs, "traces (default 20)")
			return noArgs(fs, "query traces", func(q url.Values) *request {
				return &request{method: http.MethodGet, path: "/api/v1/traces", query: q, table: tracesTable}
			})
		},
	},
	"query logs": {
		synopsis: "query logs [--service S] [--severity MIN] [--body-contains T] [--trace-id ID] [--last D] [--limit N]",
		help:     "Lists log records, newest first (GET /api/v1/logs).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			fs.String("service", "", "service `name` (exact)")
			fs.String("severity", "", "minimum `severity`: trace, debug, info, warn, error or fatal")
			fs.String("body-contains", "", "body `text` (case-insensitive substring)")
			fs.String("trace-id", "", "trace `id` (32 hex digits)")
			lastFlag(fs, "last", "window ending now (default 1h)")
			limitFlag(fs, "records (default 100)")
			return noArgs(fs, "query logs", func(q url.Values) *request {
				return &request{method: http.MethodGet, path: "/api/v1/logs", query: q, table: logsTable}
			})
		},
	},
	"query metrics": {
		synopsis: "query metrics [--service S] [--name N] [--metric-type T] [--last D] [--limit N]",
		help:     "Lists metric points, newest first (GET /api/v1/metrics).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			fs.String("service", "", "service `name` (exact)")
			fs.String("name", "", "metric `name` (exact)")
			fs.String("metric-type", "", "metric `type`: gauge, counter, histogram, summary or unknown")
			lastFlag(fs, "last", "window ending now (default 1h)")
			limitFlag(fs, "points (default 100)")
			return noArgs(fs, "query metrics", func(q url.Values) *request {
				return &request{method: http.MethodGet, path: "/api/v1/metrics", query: q, table: metricsTable}
			})
		},
	},
	"trace": {
		synopsis: "trace <trace-id>",
		help:     "Prints every span of one trace, as a tree (GET /api/v1/traces/{id}).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			return func(args []string) (*request, error) {
				if len(args) != 1 {
					return nil, usageErr("want one trace id, got %d arguments", len(args))
				}
				return &request{method: http.MethodGet, path: "/api/v1/traces/" + url.PathEscape(args[0]), table: traceTable}, nil
			}
		},
	},
	"services": {
		synopsis: "services [--last D]",
		help:     "Lists the services seen in the window, busiest first (GET /api/v1/services).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			lastFlag(fs, "last", "window ending now (default 24h)")
			return noArgs(fs, "services", func(q url.Values) *request {
				return &request{method: http.MethodGet, path: "/api/v1/services", query: q, table: servicesTable}
			})
		},
	},
	"summary": {
		synopsis: "summary [--last D] [--service S]",
		help:     "Reports spans, errors, latency, logs, metrics and LLM use over the window (GET /api/v1/summary).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			lastFlag(fs, "last", "window ending now (default 1h)")
			fs.String("service", "", "only this service")
			return noArgs(fs, "summary", func(q url.Values) *request {
				return &request{method: http.MethodGet, path: "/api/v1/summary", query: q, table: summaryTable}
			})
		},
	},
	"anomalies": {
		synopsis: "anomalies [--last D] [--baseline D] [--service S]",
		help:     "Compares the last window with the baseline window before it (GET /api/v1/anomalies).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			lastFlag(fs, "last", "current window ending now (default 15m)")
			lastFlag(fs, "baseline", "baseline window, ending where the current one begins (default 1h)")
			fs.String("service", "", "only this service")
			return noArgs(fs, "anomalies", func(q url.Values) *request {
				return &request{method: http.MethodGet, path: "/api/v1/anomalies", query: q, table: anomaliesTable}
			})
		},
	},
	"correlate": {
		synopsis: "correlate <trace-id>",
		help:     "Prints a trace's spans, the logs carrying its id and its services' metric points around it (GET /api/v1/correlate).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			return func(args []string) (*request, error) {
				if len(args) != 1 {
					return nil, usageErr("want one trace id, got %d arguments", len(args))
				}
				return &request{method: http.MethodGet, path: "/api/v1/correlate", query: url.Values{"trace": {args[0]}}, table: correlateTable}, nil
			}
		},
	},
	"comment add": {
		synopsis: "comment add <trace-id> --author A --body B [--span-id ID]",
		help:     "Adds a comment to a trace (POST /api/v1/traces/{id}/comments).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			var c analytics.NewComment
			fs.StringVar(&c.Author, "author", "", "who writes (required)")
			fs.StringVar(&c.Body, "body", "", "the comment `text` (required)")
			fs.StringVar(&c.SpanID, "span-id", "", "the span it is about (16 hex digits)")
			return func(args []string) (*request, error) {
				if len(args) != 1 {
					return nil, usageErr("want one trace id, got %d arguments", len(args))
				}
				if c.Author == "" || c.Body == "" {
					return nil, usageErr("--author and --body are required")
				}
				return &request{method: http.MethodPost, path: "/api/v1/traces/" + url.PathEscape(args[0]) + "/comments", body: c, table: commentTable}, nil
			}
		},
	},
	"comment list": {
		synopsis: "comment list [<trace-id>] [--limit N]",
		help:     "Lists a trace's comments, or the newest of all, oldest first (GET /api/v1/traces/{id}/comments, GET /api/v1/comments).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			limitFlag(fs, "comments (default 100)")
			return func(args []string) (*request, error) {
				q := paramFlags(fs)
				switch len(args) {
				case 0:
					return &request{method: http.MethodGet, path: "/api/v1/comments", query: q, table: commentsTable}, nil
				case 1:
					return &request{method: http.MethodGet, path: "/api/v1/traces/" + url.PathEscape(args[0]) + "/comments", query: q, table: commentsTable}, nil
				}
				return nil, usageErr("want at most one trace id, got %d arguments", len(args))
			}
		},
	},
	"search": {
		synopsis: "search <query> [--limit N]",
		help:     "Full-text search over prompts, completions and long log bodies (GET /api/v1/search).",
		setup: func(fs *flag.FlagSet) func([]string) (*request, error) {
			limitFlag(fs, "hits (default 100)")
			return func(args []string) (*request, error) {
				q := paramFlags(fs)
				q.Set("q", strings.Join(args, " "))
				if strings.TrimSpace(q.Get("q")) == "" {
					return nil, usageErr("no query")
				}
				return &request{method: http.MethodGet, path: "/api/v1/search", query: q, table: searchTable}, nil
			}
		},
	},
}

// clientCommandOrder is the order of the commands in the help.
var clientCommandOrder = []string{"query traces", "query logs", "query metrics", "trace", "services", "summary", "anomalies", "correlate", "comment add", "comment list", "search"}

// lastFlag adds a window flag; usage ends with its default, which is the
// server's.
func lastFlag(fs *flag.FlagSet, name, usage string) {
	fs.Var(&windowFlag{}, name, usage+"; `D` is 30s, 5m, 1h, 7d or seconds")
}

// windowFlag is a window the server parses the same way (duration.Parse);
// unset, the server's default applies.
type windowFlag struct{ d time.Duration }

func (w *windowFlag) String() string {
	if w == nil || w.d == 0 {
		return ""
	}
	return duration.Format(w.d)
}

func (w *windowFlag) Set(s string) error {
	d, err := duration.Parse(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative window %q", s)
	}
	w.d = d
	return err
}

func limitFlag(fs *flag.FlagSet, what string) {
	fs.Int("limit", 0, "at most this many "+what+", up to 10000")
}

// noArgs builds a request from the flags alone.
func noArgs(fs *flag.FlagSet, name string, f func(url.Values) *request) func([]string) (*request, error) {
	return func(args []string) (*request, error) {
		if len(args) > 0 {
			return nil, usageErr("unexpected argument %q", args[0])
		}
		return f(paramFlags(fs)), nil
	}
}

// paramFlags turns the command's flags given on the command line into the
// REST query parameters of the same names: --min-duration-ms N becomes
// min_duration_ms=N.
func paramFlags(fs *flag.FlagSet) url.Values {
	q := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(clientFlags, f.Name) {
			return
		}
		name := strings.ReplaceAll(f.Name, "-", "_")
		if m, ok := f.Value.(*multiFlag); ok {
			q[name] = slices.Clone(*m)
			return
		}
		q.Set(name, f.Value.String())
	})
	return q
}

// multiFlag is a repeatable key=value flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(s string) error {
	if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	*m = append(*m, s)
	return nil
}
