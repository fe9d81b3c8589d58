package sql

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// auth checks the "authorization" header of every call:
//
//   - "Bearer <token>": Options.AuthToken, or a token Handshake issued;
//   - "Basic base64(user:password)": a user of Options.BasicUsers.
//
// Handshake with valid credentials answers with the header
// "authorization: Bearer <token>", the token to send on the session's later
// calls (what the Arrow JDBC driver and arrow-go's AuthenticateBasicToken
// expect). A Handshake with Basic credentials issues a new token; one with a
// bearer token returns that token.
type auth struct {
	// token is Options.AuthToken's SHA-256; nil when there is none.
	token []byte
	// users maps user names to their passwords' SHA-256.
	users map[string][]byte
	// issued maps tokens issued by Handshake to their user.
	issued *lru[string]
}

func newAuth(o Options, now func() time.Time) *auth {
	if o.AuthToken == "" && len(o.BasicUsers) == 0 {
		return nil
	}
	a := &auth{users: map[string][]byte{}, issued: newLRU[string](tokenIdle, maxTokens, now)}
	if o.AuthToken != "" {
		h := sha256.Sum256([]byte(o.AuthToken))
		a.token = h[:]
	}
	for u, p := range o.BasicUsers {
		h := sha256.Sum256([]byte(p))
		a.users[u] = h[:]
	}
	return a
}

const handshakeMethod = "/arrow.flight.protocol.FlightService/Handshake"

// caller is what a call's authorization header proved.
type caller struct {
	user string
	// bearer is the bearer token presented; empty for Basic.
	bearer string
}

var errUnauthenticated = status.Error(codes.Unauthenticated,
	`authentication required: send "authorization: Bearer <token>" or Basic credentials, or Handshake with Basic credentials`)

// check validates the call's authorization header.
func (a *auth) check(ctx context.Context) (caller, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return caller{}, errUnauthenticated
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if cred == "" {
			return caller{}, errUnauthenticated
		}
		if a.token != nil && equalHash(a.token, cred) {
			return caller{bearer: cred}, nil
		}
		if user, ok := a.issued.get(cred); ok {
			return caller{user: user, bearer: cred}, nil
		}
		return caller{}, status.Error(codes.Unauthenticated, "invalid or expired bearer token")
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(cred)
		}
		if err != nil {
			return caller{}, status.Error(codes.Unauthenticated, "malformed Basic credentials")
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		want, known := a.users[user]
		if !known {
			// Compare anyway, so a wrong user takes as long as a wrong
			// password.
			want = make([]byte, sha256.Size)
		}
		if !ok || !equalHash(want, pass) || !known {
			return caller{}, status.Error(codes.Unauthenticated, "invalid user name or password")
		}
		return caller{user: user}, nil
	}
	return caller{}, status.Errorf(codes.Unauthenticated, "unsupported authorization scheme %q: use Bearer or Basic", scheme)
}

// equalHash compares a secret's SHA-256 with the hash of got in constant
// time.
func equalHash(want []byte, got string) bool {
	h := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(want, h[:]) == 1
}

func (a *auth) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if _, err := a.check(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a *auth) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	cred, err := a.check(ss.Context())
	if err != nil {
		return err
	}
	if info.FullMethod == handshakeMethod {
		tok := cred.bearer
		if tok == "" {
			tok = newToken()
			a.issued.put(tok, cred.user)
		}
		if err := ss.SetHeader(metadata.Pairs("authorization", "Bearer "+tok)); err != nil {
			return err
		}
	}
	return handler(srv, ss)
}

func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
