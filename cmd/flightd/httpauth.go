package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// httpAuth guards the HTTP listener (REST, the PromQL API, remote-write and
// /metrics) with the same credentials as Flight SQL: --auth-token as
// "Authorization: Bearer <token>", --auth-basic as HTTP basic auth.
// /healthz and /readyz stay open for load balancers and orchestrators.
// With neither flag set, it lets every request through.
type httpAuth struct {
	next     http.Handler
	token    [sha256.Size]byte
	hasToken bool
	user     string
	pass     [sha256.Size]byte
	hasBasic bool
}

func newHTTPAuth(next http.Handler, c sqlConfig) http.Handler {
	if !c.authenticated() {
		return next
	}
	a := &httpAuth{next: next}
	if c.authToken != "" {
		a.token, a.hasToken = sha256.Sum256([]byte(c.authToken)), true
	}
	if user, pass, ok := strings.Cut(c.authBasic, ":"); ok {
		a.user, a.pass, a.hasBasic = user, sha256.Sum256([]byte(pass)), true
	}
	return a
}

func (a *httpAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || a.allowed(r) {
		a.next.ServeHTTP(w, r)
		return
	}
	if a.hasBasic {
		w.Header().Set("WWW-Authenticate", `Basic realm="tael", charset="UTF-8"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tael"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"status":"error","errorType":"unauthorized","error":"authentication required: send the bearer token (--auth-token) or basic credentials (--auth-basic)"}` + "\n"))
}

// allowed reports whether r carries valid credentials, comparing hashes in
// constant time.
func (a *httpAuth) allowed(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok && a.hasToken {
		got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		return subtle.ConstantTimeCompare(got[:], a.token[:]) == 1
	}
	if user, pass, ok := r.BasicAuth(); ok && a.hasBasic {
		got := sha256.Sum256([]byte(pass))
		userOK := subtle.ConstantTimeCompare([]byte(user), []byte(a.user)) == 1
		return subtle.ConstantTimeCompare(got[:], a.pass[:]) == 1 && userOK
	}
	return false
}
