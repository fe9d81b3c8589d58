package sql

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
)

func TestAuth(t *testing.T) {
	ts := startServer(t, Options{AuthToken: "s3cret", BasicUsers: map[string]string{"alice": "wonderland"}})
	cl := ts.client(t)
	ctx := testContext(t)
	with := func(v string) context.Context { return metadata.AppendToOutgoingContext(ctx, "authorization", v) }
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }

	for _, tc := range []struct {
		name string
		ctx  context.Context
		code codes.Code
	}{
		{"none", ctx, codes.Unauthenticated},
		{"bearer", with("Bearer s3cret"), codes.OK},
		{"bearer lower case", with("bearer s3cret"), codes.OK},
		{"wrong bearer", with("Bearer nope"), codes.Unauthenticated},
		{"basic", with(basic("alice", "wonderland")), codes.OK},
		{"wrong password", with(basic("alice", "x")), codes.Unauthenticated},
		{"unknown user", with(basic("bob", "wonderland")), codes.Unauthenticated},
		{"malformed basic", with("Basic !!!"), codes.Unauthenticated},
		{"other scheme", with("Digest x"), codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, recs, err := query(tc.ctx, t, cl, "SELECT 1")
			if tc.code == codes.OK {
				if err != nil || rowCount(recs) != 1 {
					t.Fatalf("query: %v", err)
				}
				return
			}
			wantCode(t, err, tc.code, "")
		})
	}

	t.Run("ticket needs auth too", func(t *testing.T) {
		info, err := cl.Execute(with("Bearer s3cret"), "SELECT 1")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = readAll(ctx, t, cl, info)
		wantCode(t, err, codes.Unauthenticated, "")
	})

	t.Run("handshake", func(t *testing.T) {
		hctx, err := cl.Client.AuthenticateBasicToken(ctx, "alice", "wonderland")
		if err != nil {
			t.Fatal(err)
		}
		md, _ := metadata.FromOutgoingContext(hctx)
		tok := md.Get("authorization")
		if len(tok) != 1 || !strings.HasPrefix(tok[0], "Bearer ") || tok[0] == "Bearer s3cret" {
			t.Fatalf("handshake gave %v", tok)
		}
		if _, recs, err := query(hctx, t, cl, "SELECT 1"); err != nil || rowCount(recs) != 1 {
			t.Fatalf("query with the session token: %v", err)
		}
		if _, err := cl.Client.AuthenticateBasicToken(ctx, "alice", "nope"); err == nil {
			t.Fatal("handshake with a wrong password succeeded")
		} else {
			wantCode(t, err, codes.Unauthenticated, "")
		}
	})
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its key
// and returns their paths and the certificate's pool.
func writeSelfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tael test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
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
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := writeSelfSigned(t)
	ts := startServer(t, Options{TLSCert: certFile, TLSKey: keyFile})
	ctx := testContext(t)
	cl := ts.client(t, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if _, recs, err := query(ctx, t, cl, "SELECT 1"); err != nil || rowCount(recs) != 1 {
		t.Fatalf("query over TLS: %v", err)
	}
	// A plaintext client gets nowhere.
	plain := ts.client(t)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := plain.Execute(sctx, "SELECT 1"); err == nil {
		t.Fatal("plaintext query to a TLS server succeeded")
	}

	if _, err := NewServer(Options{Backend: ts.db, TLSCert: certFile}); err == nil {
		t.Fatal("NewServer with a certificate and no key succeeded")
	}
	if _, err := NewServer(Options{Backend: ts.db, TLSCert: certFile, TLSKey: certFile}); err == nil {
		t.Fatal("NewServer with a bad key succeeded")
	}
}
