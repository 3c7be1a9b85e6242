package caddyoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// adminClient does the management through the admin API of a running
// Caddy, as `caddy reload` reaches it.
type adminClient struct {
	addr, server string
}

// call sends in as JSON to the server's route path and decodes the answer
// into out. Caddy's AdminAPIRequest turns a 4xx/5xx into an error that
// carries the {"error": ...} body.
func (c *adminClient) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	uri := adminBase + url.PathEscape(c.server) + path
	resp, err := caddycmd.AdminAPIRequest(c.addr, method, uri, make(http.Header), body)
	if err != nil {
		return apiMessage(err)
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("decoding the admin API's answer: %v", err)
	}
	return nil
}

// apiMessage shortens AdminAPIRequest's error "caddy responded with
// error: HTTP 409: {"error":"..."}" to the message of our routes' JSON
// error; any other error is returned as it is.
func apiMessage(err error) error {
	msg := err.Error()
	i := strings.Index(msg, ": {")
	if i < 0 || !strings.HasPrefix(msg, "caddy responded with error: HTTP ") {
		return err
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(msg[i+2:])), &e) != nil || e.Error == "" {
		return err
	}
	return errors.New(e.Error)
}

func (c *adminClient) CreateClient(_ context.Context, md registry.ClientMetadata) (*registry.ClientView, error) {
	var v registry.ClientView
	return &v, c.call(http.MethodPost, "/clients", md, &v)
}

func (c *adminClient) ListClients(context.Context) ([]registry.ClientView, error) {
	var list []registry.ClientView
	return list, c.call(http.MethodGet, "/clients", nil, &list)
}

func (c *adminClient) DeleteClient(_ context.Context, id string) (*registry.RevokeResult, error) {
	var res registry.RevokeResult
	return &res, c.call(http.MethodDelete, "/clients/"+url.PathEscape(id), nil, &res)
}

func (c *adminClient) RotateSecret(_ context.Context, id string) (*registry.ClientView, error) {
	var v registry.ClientView
	return &v, c.call(http.MethodPost, "/clients/"+url.PathEscape(id)+"/secret", nil, &v)
}

func (c *adminClient) CreateUser(_ context.Context, username, password string, claims store.Claims) (*registry.UserView, error) {
	var v registry.UserView
	return &v, c.call(http.MethodPost, "/users", userRequest{Username: username, Password: password, Claims: claims}, &v)
}

func (c *adminClient) GetUser(_ context.Context, name string) (*registry.UserView, error) {
	var v registry.UserView
	return &v, c.call(http.MethodGet, "/users/"+url.PathEscape(name), nil, &v)
}

func (c *adminClient) PatchClaims(_ context.Context, name string, patch json.RawMessage) (*registry.UserView, error) {
	var v registry.UserView
	return &v, c.call(http.MethodPatch, "/users/"+url.PathEscape(name), claimsPatch{Claims: patch}, &v)
}

func (c *adminClient) ListUsers(context.Context) ([]registry.UserView, error) {
	var list []registry.UserView
	return list, c.call(http.MethodGet, "/users", nil, &list)
}

func (c *adminClient) SetPassword(_ context.Context, name, password string) error {
	return c.call(http.MethodPut, "/users/"+url.PathEscape(name)+"/password", passwordRequest{Password: password}, nil)
}

func (c *adminClient) DeleteUser(_ context.Context, name string) (*registry.RevokeResult, error) {
	var res registry.RevokeResult
	return &res, c.call(http.MethodDelete, "/users/"+url.PathEscape(name), nil, &res)
}

func (c *adminClient) Revoke(_ context.Context, user, clientID string) (*registry.RevokeResult, error) {
	var res registry.RevokeResult
	return &res, c.call(http.MethodPost, "/revoke", revokeRequest{User: user, ClientID: clientID}, &res)
}

// Interface guard
var _ manageBackend = (*adminClient)(nil)
