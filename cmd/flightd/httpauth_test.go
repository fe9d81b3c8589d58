package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestHTTPAuth starts flightd with a bearer token and basic credentials:
// every HTTP path but /healthz and /readyz then wants one of them, and the
// client commands send the token.
func TestHTTPAuth(t *testing.T) {
	p := startFlightd(t, []string{"TAEL_AUTH_TOKEN=s3cret"}, "--data-dir", t.TempDir(), "--http", "127.0.0.1:0",
		"--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", "--auth-basic", "grafana:pa:ss")
	base := p.waitAddr(t)
	waitReady(t, base)
	do := func(path string, set func(*http.Request)) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if set != nil {
			set(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", path)
		}
		return resp.StatusCode
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	basic := func(u, pw string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(u, pw) }
	}
	for _, c := range []struct {
		path string
		set  func(*http.Request)
		want int
	}{
		{"/healthz", nil, 200},
		{"/readyz", nil, 200},
		{"/metrics", nil, 401},
		{"/api/v1/services", nil, 401},
		{"/api/v1/query?query=1%2B1", nil, 401},
		{"/api/v1/services", bearer("wrong"), 401},
		{"/api/v1/services", basic("grafana", "pa"), 401},
		{"/api/v1/services", basic("other", "pa:ss"), 401},
		{"/api/v1/services", bearer("s3cret"), 200},
		{"/api/v1/query?query=1%2B1", basic("grafana", "pa:ss"), 200},
		{"/metrics", bearer("s3cret"), 200},
	} {
		if got := do(c.path, c.set); got != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, got, c.want)
		}
	}
	if code, _, errOut := runCLI(t, "services", "--server", base); code != 1 || !strings.Contains(errOut, "authentication required") {
		t.Errorf("services without a token: exit %d, stderr %q", code, errOut)
	}
	if code, out, errOut := runCLI(t, "services", "--server", base, "--auth-token", "s3cret", "--format", "json"); code != 0 || !strings.Contains(out, "services") {
		t.Errorf("services with the token: exit %d, %s %s", code, out, errOut)
	}
}
