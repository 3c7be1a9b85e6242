package caddyoauth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/caddy-oauth/caddy-oauth/store/dump"
)

// The admin routes that back up and restore a server's storage
// (store/dump's format), for `caddy oauth export|import`:
//
//	GET  /oauth/<server>/export[?tokens=true]   the dump, streamed as application/x-ndjson
//	POST /oauth/<server>/import[?replace=true]  a dump as the body; answers the import's summary
//
// The dump holds the server key and the JWT signing keys: whoever may use
// the admin endpoint may read them, as they may reconfigure the server.

// maxImportBody bounds an import's body. Memory is bounded anyway (a dump
// is read line by line, each at most dump.MaxLine); this bounds the time
// one request can take.
const maxImportBody = 1 << 30

// ndjson is the media type of a dump.
const ndjson = "application/x-ndjson"

// serveExport writes the server's dump. Once the first bytes are out, a
// failure can no longer change the status: the dump then lacks its end
// line, which `caddy oauth export` and every import refuse.
func serveExport(w http.ResponseWriter, r *http.Request, srv *Server) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(w, r, http.MethodGet)
	}
	tokens, err := boolQuery(r, "tokens")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ndjson)
	cw := &countingWriter{w: w}
	n, err := dump.Export(r.Context(), srv.store, cw, dump.ExportOptions{Server: srv.Name(), Tokens: tokens})
	if err != nil {
		srv.logger.Error("export failed", zap.Error(err), zap.Int64("bytes_sent", cw.n))
		if cw.n == 0 {
			w.Header().Del("Content-Type")
			return toAPIError(w, fmt.Errorf("export: %w", err))
		}
		return nil // the response is cut short; nothing more can be said in it
	}
	srv.logger.Info("storage exported", countFields(n)...)
	return nil
}

// serveImport reads a dump from the body into the server's storage. It
// answers the summary with 200 once the dump's header was accepted, also
// when lines were refused (the summary lists them); a refused header is
// 400, a storage failure 503 or 500.
func serveImport(w http.ResponseWriter, r *http.Request, srv *Server) error {
	if r.Method != http.MethodPost {
		return methodNotAllowed(w, r, http.MethodPost)
	}
	replace, err := boolQuery(r, "replace")
	if err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, maxImportBody)
	sum, err := dump.Import(r.Context(), srv.store, body, dump.ImportOptions{Replace: replace})
	if sum != nil {
		srv.logger.Info("storage imported", append(countFields(sum.Created),
			zap.Int("replaced", sum.Replaced.Total()), zap.Int("unchanged", sum.Unchanged.Total()),
			zap.Int("expired_tokens", sum.ExpiredTokens), zap.Int("failed", sum.Failed), zap.Bool("complete", err == nil))...)
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, dump.ErrIncomplete):
		return reply(w, http.StatusOK, sum, nil)
	case errors.Is(err, dump.ErrFormat):
		return apiError(http.StatusBadRequest, err)
	case errors.As(err, &tooBig):
		return apiError(http.StatusRequestEntityTooLarge, fmt.Errorf("import: the dump is larger than %d bytes: import it offline", maxImportBody))
	}
	return toAPIError(w, fmt.Errorf("import: %w", err))
}

// boolQuery reads an optional boolean query parameter.
func boolQuery(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apiError(http.StatusBadRequest, fmt.Errorf("query parameter %s: want true or false", name))
	}
	return b, nil
}

// countFields logs record counts: numbers only, never a record.
func countFields(n dump.Counts) []zap.Field {
	return []zap.Field{zap.Int("keys", n.Keys), zap.Int("clients", n.Clients), zap.Int("users", n.Users),
		zap.Int("consents", n.Consents), zap.Int("tokens", n.Tokens)}
}

// countingWriter counts what went out, to tell whether an error can still
// be answered as one.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
