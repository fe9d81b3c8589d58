// Package cli is `flightd sql`: a command-line client that sends one SQL
// statement to a Flight SQL server (tael's or any other) with arrow-go's
// flightsql.Client and prints the result as an aligned table, CSV, JSON
// lines or an Arrow IPC stream.
//
// Exit codes: 0 success, 1 the statement failed (the server's message goes
// to stderr), 2 bad usage.
package cli
