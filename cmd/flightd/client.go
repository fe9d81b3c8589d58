package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// The client commands (query, trace, services, summary, anomalies,
// correlate, comment, search) ask a running flightd over its REST API and
// print the answer as a table or as the server's JSON.

// Client exit codes: 1 when the server refuses or cannot be reached, 2 for
// a bad command line.
const (
	exitError = 1
	exitUsage = 2
)

// defaultServer is flightd's default --http address (DESIGN.md "Ports and
// defaults").
const defaultServer = "http://127.0.0.1:7701"

// maxAnswerBytes bounds an answer the client reads: 10,000 spans of JSON
// (analytics.MaxLimit rows) with large attributes stay well within it.
const maxAnswerBytes = 512 << 20

// clientFlags are the flags every client command takes; they also read
// TAEL_<FLAG> from the environment.
var clientFlags = []string{"server", "format", "timeout", "auth-token"}

// clientConfig is what every client command shares.
type clientConfig struct {
	server    string
	format    string
	timeout   time.Duration
	authToken string
}

// errClientUsage marks a bad command line.
var errClientUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errClientUsage, fmt.Sprintf(format, args...))
}

// request is one REST call and how to print its answer as a table.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	table  func(w io.Writer, answer []byte) error
}

// command is one client command: synopsis and help, and setup, which adds
// its own flags and returns the function that builds the request from the
// positional arguments once the flags are parsed.
type command struct {
	synopsis string
	help     string
	setup    func(fs *flag.FlagSet) func(args []string) (*request, error)
}

// runClient runs the client command cmd (one word, or two for query and
// comment) with args and returns the exit code.
func runClient(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	name := cmd
	if cmd == "query" || cmd == "comment" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(stderr, "flightd %s: say what: %s\n", cmd, strings.Join(subcommands(cmd), ", "))
			return exitUsage
		}
		name, args = cmd+" "+args[0], args[1:]
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "flightd: unknown command %q\n", name)
		return exitUsage
	}
	fs := flag.NewFlagSet("flightd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg clientConfig
	fs.StringVar(&cfg.server, "server", defaultServer, "flightd's HTTP `URL`")
	fs.StringVar(&cfg.format, "format", "table", "output `format`: table or json (the server's answer)")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "give up after this `duration` (0: never)")
	fs.StringVar(&cfg.authToken, "auth-token", "", "bearer `token` to send")
	build := c.setup(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: flightd %s\n\n%s\n\nFlags (--server, --format, --timeout and --auth-token also read TAEL_SERVER,\nTAEL_FORMAT, TAEL_TIMEOUT and TAEL_AUTH_TOKEN):\n", c.synopsis, c.help)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = clientEnv(fs)
	}
	var req *request
	if err == nil {
		err = cfg.check()
	}
	if err == nil {
		req, err = build(pos)
	}
	if err != nil {
		fmt.Fprintf(stderr, "flightd %s: %s\n", name, strings.TrimPrefix(err.Error(), "usage: "))
		return exitUsage
	}
	answer, err := cfg.do(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "flightd %s: %v\n", name, err)
		return exitError
	}
	if cfg.format == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, answer, "", "  "); err != nil {
			fmt.Fprintf(stderr, "flightd %s: the server's answer is not JSON: %v\n", name, err)
			return exitError
		}
		buf.WriteByte('\n')
		_, err = stdout.Write(buf.Bytes())
	} else {
		err = req.table(stdout, answer)
	}
	if err != nil {
		fmt.Fprintf(stderr, "flightd %s: %v\n", name, err)
		return exitError
	}
	return 0
}

func subcommands(cmd string) []string {
	var out []string
	for name := range commands {
		if sub, ok := strings.CutPrefix(name, cmd+" "); ok {
			out = append(out, sub)
		}
	}
	slices.Sort(out)
	return out
}

// parseInterleaved parses flags given before, between and after the
// positional arguments ("flightd trace ID --format json") and returns the
// positional ones. "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// clientEnv fills the shared flags not given on the command line from
// TAEL_<FLAG>. The commands' own filters do not read the environment: a
// TAEL_SERVICE meant for something else must not narrow a query.
func clientEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range clientFlags {
		if set[name] {
			continue
		}
		if v, ok := os.LookupEnv(envName(name)); ok {
			if err := fs.Set(name, v); err != nil {
				return usageErr("%s=%q: %v", envName(name), v, err)
			}
		}
	}
	return nil
}

func (c *clientConfig) check() error {
	switch c.format {
	case "table", "json":
	default:
		return usageErr("unknown --format %q (table or json)", c.format)
	}
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErr("--server %q: want a URL like %s", c.server, defaultServer)
	}
	c.server = strings.TrimRight(c.server, "/")
	if c.timeout < 0 {
		return usageErr("negative --timeout %s", c.timeout)
	}
	return nil
}

// do makes the call and returns the answer's body; an error carries the
// server's message.
func (c *clientConfig) do(ctx context.Context, r *request) ([]byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := c.server + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.authToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.authToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer from %s within --timeout %s", c.server, c.timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach flightd at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return nil, errors.New(e.Error)
		}
		// Not the REST API: flightd starting (503), an older flightd (404).
		msg := strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return nil, fmt.Errorf("%s %s: %s %s", r.method, r.path, resp.Status, msg)
	}
	return b, nil
}
