package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tael/tael/analytics"
	"github.com/tael/tael/engine"
)

// statusError is an error the API answers with its own status: input it
// rejects before asking the service.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// badRequest returns a 400 error.
func badRequest(format string, args ...any) error {
	return &statusError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of every error.
type errorBody struct {
	Error string `json:"error"`
}

// status chooses the answer to err from a request whose context is ctx.
func (a *API) status(ctx context.Context, err error) (int, string) {
	var se *statusError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.status, se.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, analytics.ErrNotFound), errors.Is(err, engine.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, analytics.ErrInvalid), errors.Is(err, engine.ErrBadQuery):
		return http.StatusBadRequest, err.Error()
	// DuckDB reports an interrupted query in its own words: ctx says why.
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return http.StatusServiceUnavailable, fmt.Sprintf("request timed out after %s", a.opts.Timeout)
	case errors.Is(err, context.Canceled), ctx.Err() != nil:
		return http.StatusServiceUnavailable, "request cancelled"
	}
	return http.StatusInternalServerError, err.Error()
}

// fail answers err to a request that has not started its answer.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.failCtx(r.Context(), w, r, err)
}

// failCtx is fail for a request that ran under ctx (its timeout).
func (a *API) failCtx(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	code, msg := a.status(ctx, err)
	if code == http.StatusInternalServerError {
		a.log.Error("rest: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, code, errorBody{Error: msg})
}

// reply answers v as JSON with status code.
func (a *API) reply(w http.ResponseWriter, r *http.Request, code int, v any) {
	if err := writeJSON(w, code, v); err != nil {
		a.log.Error("rest: encode answer", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "encode answer: " + err.Error()})
	}
}

// writeJSON writes v as the whole answer. It writes nothing when v does
// not encode, so the caller can still answer an error.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Bodies, prompts and operation names are shown to people as they are.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
	return nil
}
