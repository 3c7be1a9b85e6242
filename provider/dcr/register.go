package dcr

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// maxBody bounds a registration request: metadata is a few hundred bytes.
const maxBody = 64 << 10

// register handles RFC 7591 §3.1: validate the initial access token and
// the metadata, register the client, answer 201 with its information
// (the secret shown this once) and its registration access token.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Open {
		tok, ok := bearer(r)
		if !ok || !equalTokens(tok, s.cfg.InitialAccessToken) {
			s.refuse(w, "initial access token missing or invalid", "")
			writeBearerError(w, "a valid initial access token is required to register")
			return
		}
	}
	if r.URL.Query().Has("client_id") {
		writeError(w, http.StatusBadRequest, &registrationError{"invalid_request", "register with POST to the registration endpoint; manage a registration with GET, PUT or DELETE"})
		return
	}
	body, rerr := readJSON(r)
	if rerr != nil {
		writeError(w, http.StatusBadRequest, rerr)
		return
	}
	md, rerr := decodeMetadata(body)
	if rerr != nil {
		s.refuse(w, rerr.Error(), "")
		writeError(w, http.StatusBadRequest, rerr)
		return
	}
	reg, rerr := md.registryMetadata()
	if rerr != nil {
		s.refuse(w, rerr.Error(), "")
		writeError(w, http.StatusBadRequest, rerr)
		return
	}
	reg.ClientID = rand.Text()
	if reg.Name == "" {
		reg.Name = "Unnamed application " + reg.ClientID[:8]
	}
	v, err := s.cfg.Manager.CreateClient(r.Context(), reg)
	if err != nil {
		s.fail(w, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, s.responseOf(v, md.TokenEndpointAuthMethod))
}

// readJSON reads a bounded application/json body.
func readJSON(r *http.Request) ([]byte, *registrationError) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &registrationError{"invalid_request", "the request body must be application/json"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, &registrationError{"invalid_request", "the request body could not be read"}
	}
	if len(body) > maxBody {
		return nil, &registrationError{"invalid_request", "the request body is too large"}
	}
	return body, nil
}

// fail answers an error of the registry: its refusals are RFC 7591
// errors (400), a conflict is a 400 too (the client chose nothing that
// could conflict but the generated id), a store failure 503 or 500.
func (s *Server) fail(w http.ResponseWriter, err error, clientID string) {
	var re *registry.Error
	switch {
	case errors.As(err, &re) && re.Kind == registry.NotFound, errors.Is(err, store.ErrNotFound):
		// Gone meanwhile: its registration access token is no more.
		writeBearerError(w, "the registration access token is invalid")
		return
	case errors.As(err, &re):
		rerr := registryError(re)
		s.refuse(w, rerr.Error(), clientID)
		writeError(w, http.StatusBadRequest, rerr)
		return
	}
	s.cfg.Audit.Emit(provider.Event{Name: "store_error", ClientID: clientID, Reason: "client registration: " + err.Error()})
	e := provider.ErrStore(err)
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", provider.RetryAfter)
	}
	writeError(w, e.Status, &registrationError{e.Code, e.Description})
}

// refuse reports a refused registration request.
func (s *Server) refuse(_ http.ResponseWriter, reason, clientID string) {
	s.cfg.Audit.Emit(provider.Event{Name: "registration_refused", ClientID: provider.SafeText(clientID), Reason: provider.SafeText(reason)})
}

// bearer is the token of an RFC 6750 Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	auth := r.Header.Values("Authorization")
	if len(auth) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(auth[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// RFC 7591 §3.2.1: the response carries secrets.
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, e *registrationError) {
	writeJSON(w, status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{e.Code, provider.SafeText(e.Description)})
}

// writeBearerError answers 401 invalid_token (RFC 6750 §3.1): no or a
// wrong initial or registration access token.
func writeBearerError(w http.ResponseWriter, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+provider.SafeText(desc)+`"`)
	writeError(w, http.StatusUnauthorized, &registrationError{"invalid_token", desc})
}
