// Command flightd is tael's one binary: the server (flightd, flightd serve)
// and its tools.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tael/tael/sql/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `flightd — tael telemetry analytics server

Usage:
  flightd [serve] [flags]   run the server (the default)
  flightd compact [flags]   move hot rows to Parquet now (server stopped)
  flightd sql [flags] [query]  run SQL against a Flight SQL server
  flightd version           print the version
  flightd help              show this help

Ask a running flightd over its REST API:
  flightd query traces [filters]   list traces (--service, --operation, --status,
                                   --min-duration-ms, --max-duration-ms,
                                   --attribute k=v, --text, --last, --limit)
  flightd query logs [filters]     list logs (--service, --severity,
                                   --body-contains, --trace-id, --last, --limit)
  flightd query metrics [filters]  list metric points (--service, --name,
                                   --metric-type, --last, --limit)
  flightd trace <trace-id>         every span of a trace
  flightd services [--last D]      services seen, busiest first
  flightd summary [--last D] [--service S]
  flightd anomalies [--last D] [--baseline D] [--service S]
  flightd correlate <trace-id>     a trace with its logs and metrics
  flightd comment add <trace-id> --author A --body B [--span-id ID]
  flightd comment list [<trace-id>] [--limit N]
  flightd search <query> [--limit N]   full-text over prompts, completions, logs
Each takes --server URL (default http://127.0.0.1:7701, or TAEL_SERVER),
--format table|json, --timeout and --auth-token; 'flightd <command> -h' lists
its flags. Exit status: 1 when the server refuses, 2 for a bad command line.

Run 'flightd serve -h' for the server's flags. Every flag can also be set
through the environment as TAEL_<FLAG> (for example TAEL_DATA_DIR).
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args)
	case "compact":
		return compact(args)
	case "sql":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return cli.Main(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	case "query", "trace", "services", "summary", "anomalies", "correlate", "comment", "search":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return runClient(ctx, cmd, args, os.Stdout, os.Stderr)
	case "version":
		fmt.Println("flightd", version)
		return 0
	case "help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "flightd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}
