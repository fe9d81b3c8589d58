package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const usage = `Usage: flightd sql [flags] ["<query>"]

Runs one SQL statement on a Flight SQL server and prints its result. The
statement is read from stdin when it is not given as an argument. Every flag
can also be set through the environment as TAEL_<FLAG> (TAEL_FLIGHT,
TAEL_AUTH_TOKEN, …).

Flags:
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// maxRecvBytes is the largest result message the client accepts.
const maxRecvBytes = 256 << 20

// config is the parsed command line.
type config struct {
	addr          string
	format        string
	authToken     string
	user          string
	password      string
	tls           bool
	tlsCA         string
	tlsSkipVerify bool
	timeout       time.Duration
	query         string
}

// errUsage marks a usage error (exit code 2).
var errUsage = errors.New("usage")

// Main runs `flightd sql` with args (without the "sql") and returns the
// process's exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parse(args, stdin, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "flightd sql: %v\n", strings.TrimPrefix(err.Error(), "usage: "))
		return exitUsage
	}
	if err := run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "flightd sql: %s\n", errorMessage(err))
		return exitError
	}
	return exitOK
}

// errorMessage is the server's message for a gRPC error, the error's text
// otherwise.
func errorMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

func parse(args []string, stdin io.Reader, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("flightd sql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.addr, "flight", "127.0.0.1:8815", "Flight SQL server `address` (host:port)")
	fs.StringVar(&c.format, "format", "table", "output `format`: table, csv, json (one object per line) or arrow (IPC stream)")
	fs.StringVar(&c.authToken, "auth-token", "", "bearer `token` to authenticate with")
	fs.StringVar(&c.user, "user", "", "user `name` for Basic authentication (with --password)")
	fs.StringVar(&c.password, "password", "", "`password` for Basic authentication")
	fs.BoolVar(&c.tls, "tls", false, "connect with TLS")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM `file` of the CA that signed the server's certificate (implies --tls)")
	fs.BoolVar(&c.tlsSkipVerify, "tls-skip-verify", false, "do not verify the server's certificate (implies --tls; insecure)")
	fs.DurationVar(&c.timeout, "timeout", 0, "give up after this `duration` (0: no limit but the server's)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := fromEnv(fs); err != nil {
		return c, err
	}
	switch c.format {
	case "table", "csv", "json", "arrow":
	default:
		return c, fmt.Errorf("%w: unknown --format %q (table, csv, json or arrow)", errUsage, c.format)
	}
	if c.password != "" && c.user == "" {
		return c, fmt.Errorf("%w: --password needs --user", errUsage)
	}
	if c.authToken != "" && c.user != "" {
		return c, fmt.Errorf("%w: use --auth-token or --user, not both", errUsage)
	}
	if c.timeout < 0 {
		return c, fmt.Errorf("%w: negative --timeout", errUsage)
	}
	c.tls = c.tls || c.tlsCA != "" || c.tlsSkipVerify
	switch fs.NArg() {
	case 0:
		b, err := io.ReadAll(stdin)
		if err != nil {
			return c, fmt.Errorf("read the query from stdin: %w", err)
		}
		c.query = string(b)
	case 1:
		c.query = fs.Arg(0)
	default:
		return c, fmt.Errorf("%w: one query argument expected, got %d (quote the query)", errUsage, fs.NArg())
	}
	c.query = strings.TrimSpace(c.query)
	if c.query == "" {
		return c, fmt.Errorf("%w: no query: give it as an argument or on stdin", errUsage)
	}
	return c, nil
}

// fromEnv fills every flag not given on the command line from its
// TAEL_<FLAG> environment variable, as flightd's own flags do.
func fromEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := "TAEL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%w: %s=%q: %v", errUsage, name, v, e)
			}
		}
	})
	return err
}

// dialOptions returns the transport credentials c asks for.
func dialOptions(c config) ([]grpc.DialOption, error) {
	// Servers may send batches larger than gRPC's default limit (4 MiB).
	size := grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvBytes))
	if !c.tls {
		return []grpc.DialOption{size, grpc.WithTransportCredentials(insecure.NewCredentials())}, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.tlsSkipVerify} //nolint:gosec // asked for by --tls-skip-verify
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("read --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", c.tlsCA)
		}
		tc.RootCAs = pool
	}
	return []grpc.DialOption{size, grpc.WithTransportCredentials(credentials.NewTLS(tc))}, nil
}

func run(ctx context.Context, c config, stdout io.Writer) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	opts, err := dialOptions(c)
	if err != nil {
		return err
	}
	cl, err := flightsql.NewClient(c.addr, nil, []flight.ClientMiddleware{flight.NewClientCookieMiddleware()}, opts...)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", c.addr, err)
	}
	defer cl.Close()
	mem := memory.DefaultAllocator
	cl.Alloc = mem

	switch {
	case c.authToken != "":
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.authToken)
	case c.user != "":
		if ctx, err = cl.Client.AuthenticateBasicToken(ctx, c.user, c.password); err != nil {
			return fmt.Errorf("authenticate as %s: %w", c.user, err)
		}
	}

	if isUpdate(c.query) {
		n, err := cl.ExecuteUpdate(ctx, c.query)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%d %s affected\n", n, plural(n, "row", "rows"))
		return err
	}

	info, err := cl.Execute(ctx, c.query)
	if err != nil {
		return err
	}
	out, err := newWriter(c.format, stdout)
	if err != nil {
		return err
	}
	if len(info.Endpoint) == 0 && info.Schema != nil {
		sc, err := flight.DeserializeSchema(info.Schema, mem)
		if err != nil {
			return fmt.Errorf("decode the result schema: %w", err)
		}
		if err := out.begin(sc); err != nil {
			return err
		}
	}
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return err
		}
		err = copyResult(out, rdr)
		rdr.Release()
		if err != nil {
			return err
		}
	}
	return out.end()
}

// copyResult writes every batch of rdr to out.
func copyResult(out writer, rdr *flight.Reader) error {
	if err := out.begin(rdr.Schema()); err != nil {
		return err
	}
	for rdr.Next() {
		if err := out.write(rdr.RecordBatch()); err != nil {
			return err
		}
	}
	return rdr.Err()
}

// updateVerbs start statements that return a row count, not rows.
var updateVerbs = map[string]bool{
	"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "UPSERT": true,
	"CREATE": true, "DROP": true, "ALTER": true, "TRUNCATE": true, "COPY": true,
	"ATTACH": true, "DETACH": true, "GRANT": true, "REVOKE": true,
}

// isUpdate reports whether q's first keyword, after comments, makes it an
// update.
func isUpdate(q string) bool {
	for {
		q = strings.TrimLeftFunc(q, unicode.IsSpace)
		switch {
		case strings.HasPrefix(q, "--"):
			if i := strings.IndexByte(q, '\n'); i >= 0 {
				q = q[i+1:]
				continue
			}
			return false
		case strings.HasPrefix(q, "/*"):
			if i := strings.Index(q, "*/"); i >= 0 {
				q = q[i+2:]
				continue
			}
			return false
		}
		break
	}
	end := strings.IndexFunc(q, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(q)
	}
	return updateVerbs[strings.ToUpper(q[:end])]
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
