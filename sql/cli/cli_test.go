package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	tsql "github.com/tael/tael/sql"
	"github.com/tael/tael/sql/duck"
)

// startServer runs a tael Flight SQL server on 127.0.0.1:0 and returns its
// address.
func startServer(t *testing.T, opts tsql.Options) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := duck.Open(duck.Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	opts.Backend, opts.Allocator = db, mem
	srv, err := tsql.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(func() {
		srv.GracefulStop()
		db.Close()
		mem.AssertSize(t, 0)
	})
	return lis.Addr().String()
}

// sqlRun runs Main and returns its exit code, stdout and stderr.
func sqlRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Main(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestFormats(t *testing.T) {
	addr := startServer(t, tsql.Options{})
	const q = `SELECT x AS n, 'v' || x AS s, x * 1.5 AS f, NULL::VARCHAR AS "null", TIMESTAMP '2024-05-01 12:00:00' AS ts FROM range(1, 3) t(x) ORDER BY x`
	for _, tc := range []struct {
		format, want string
	}{
		{"table", "" +
			"n | s  |   f | null | ts\n" +
			"--+----+-----+------+---------------------\n" +
			"1 | v1 | 1.5 | NULL | 2024-05-01T12:00:00Z\n" +
			"2 | v2 |   3 | NULL | 2024-05-01T12:00:00Z\n" +
			"(2 rows)\n"},
		{"csv", "n,s,f,null,ts\n1,v1,1.5,,2024-05-01T12:00:00Z\n2,v2,3,,2024-05-01T12:00:00Z\n"},
		{"json", `{"n":1,"s":"v1","f":1.5,"null":null,"ts":"2024-05-01T12:00:00Z"}` + "\n" +
			`{"n":2,"s":"v2","f":3,"null":null,"ts":"2024-05-01T12:00:00Z"}` + "\n"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			code, out, errOut := sqlRun(t, "", "--flight", addr, "--format", tc.format, q)
			if code != 0 || out != tc.want {
				t.Fatalf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errOut, out, tc.want)
			}
		})
	}
	t.Run("arrow", func(t *testing.T) {
		code, out, errOut := sqlRun(t, "", "--flight", addr, "--format", "arrow", q)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		rdr, err := ipc.NewReader(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		rows := 0
		for rdr.Next() {
			rows += int(rdr.RecordBatch().NumRows())
		}
		if rows != 2 || rdr.Schema().NumFields() != 5 || rdr.Schema().Field(4).Type.String() != "timestamp[ns, tz=UTC]" {
			t.Fatalf("%d rows, schema %s", rows, rdr.Schema())
		}
	})
	t.Run("one row", func(t *testing.T) {
		if code, out, _ := sqlRun(t, "", "--flight", addr, "SELECT 'a\nb' AS x"); code != 0 || out != "x\n----\na\\nb\n(1 row)\n" {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("no rows", func(t *testing.T) {
		if code, out, _ := sqlRun(t, "", "--flight", addr, "SELECT service FROM spans"); code != 0 || out != "service\n-------\n(0 rows)\n" {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}

func TestStdinAndEnv(t *testing.T) {
	addr := startServer(t, tsql.Options{})
	t.Setenv("TAEL_FLIGHT", addr)
	t.Setenv("TAEL_FORMAT", "csv")
	code, out, errOut := sqlRun(t, "-- the answer\nSELECT 42 AS answer;\n")
	if code != 0 || out != "answer\n42\n" {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	// The command line wins over the environment.
	if code, out, _ := sqlRun(t, "SELECT 42 AS answer", "--format", "json"); code != 0 || out != "{\"answer\":42}\n" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestErrorsAndUsage(t *testing.T) {
	addr := startServer(t, tsql.Options{})
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"bad SQL", "", []string{"--flight", addr, "SELEC 1"}, 1, `syntax error at or near "SELEC"`},
		{"read-only", "", []string{"--flight", addr, "CREATE TABLE x (a INT)"}, 1, "read-only"},
		{"update without a store", "", []string{"--flight", addr, "INSERT INTO trace_comments (trace_id, body) VALUES ('t', 'b')"}, 1, "stores no comments"},
		{"unreachable", "", []string{"--flight", "127.0.0.1:1", "--timeout", "2s", "SELECT 1"}, 1, ""},
		{"no query", "  \n", []string{"--flight", addr}, 2, "no query"},
		{"two queries", "", []string{"--flight", addr, "SELECT 1", "SELECT 2"}, 2, "one query"},
		{"bad format", "", []string{"--flight", addr, "--format", "xml", "SELECT 1"}, 2, "format"},
		{"bad flag", "", []string{"--nope", "SELECT 1"}, 2, "nope"},
		{"password without user", "", []string{"--password", "x", "SELECT 1"}, 2, "--user"},
		{"help", "", []string{"-h"}, 0, "Usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := sqlRun(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tc.code, errOut, tc.msg, out)
			}
		})
	}
}

func TestAuthFlags(t *testing.T) {
	addr := startServer(t, tsql.Options{AuthToken: "tok", BasicUsers: map[string]string{"ann": "pw"}})
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"none", nil, 1},
		{"token", []string{"--auth-token", "tok"}, 0},
		{"wrong token", []string{"--auth-token", "x"}, 1},
		{"basic", []string{"--user", "ann", "--password", "pw"}, 0},
		{"wrong password", []string{"--user", "ann", "--password", "x"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--flight", addr, "--format", "csv"}, tc.args...)
			code, out, errOut := sqlRun(t, "", append(args, "SELECT 1 AS one")...)
			if code != tc.code {
				t.Fatalf("exit %d (want %d): %s %s", code, tc.code, out, errOut)
			}
			if code == 0 && out != "one\n1\n" {
				t.Fatalf("stdout %q", out)
			}
			if code == 1 && !strings.Contains(errOut, "authenticat") && !strings.Contains(errOut, "password") && !strings.Contains(errOut, "token") {
				t.Fatalf("stderr %q", errOut)
			}
		})
	}
}

func TestIsUpdate(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                                     false,
		"  insert into trace_comments":                 true,
		"-- note\nINSERT INTO x":                       true,
		"/* c */ WITH x AS (SELECT 1) SELECT * FROM x": false,
		"DESCRIBE spans":                               false,
		"update x set a = 1":                           true,
		"-- only a comment":                            false,
	} {
		if got := isUpdate(q); got != want {
			t.Errorf("isUpdate(%q) = %v", q, got)
		}
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key to
// a temporary directory.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSFlags(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	addr := startServer(t, tsql.Options{TLSCert: certFile, TLSKey: keyFile})
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"ca", []string{"--tls-ca", certFile}, 0},
		{"skip verify", []string{"--tls-skip-verify"}, 0},
		{"unverified", []string{"--tls"}, 1},
		{"plaintext", nil, 1},
		{"missing ca file", []string{"--tls-ca", filepath.Join(t.TempDir(), "none.pem")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--flight", addr, "--format", "csv", "--timeout", "5s"}, tc.args...)
			code, out, errOut := sqlRun(t, "", append(args, "SELECT 1 AS one")...)
			if code != tc.code || (code == 0 && out != "one\n1\n") {
				t.Fatalf("exit %d (want %d): %q %q", code, tc.code, out, errOut)
			}
		})
	}
}
