package login

import (
	"net/http"
	"time"
)

// SignedInAt returns when the resource owner of r's session signed in
// (the OpenID Connect auth_time), if r has a live session.
func (m *Manager) SignedInAt(r *http.Request) (time.Time, bool) {
	s, err := m.session(r)
	if err != nil || s == nil {
		return time.Time{}, false
	}
	return s.IssuedAt, true
}
