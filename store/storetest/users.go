package storetest

import (
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func sampleUser(name string) *store.User {
	return &store.User{
		Username:     name,
		PasswordHash: "$2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9tK",
		CreatedAt:    now(),
	}
}

func (h harness) testUsers(t *testing.T) {
	t.Run("a created user reads back with every field", func(t *testing.T) {
		s := h.store(t)
		want := sampleUser("alice")
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), want), nil)
		got, err := s.GetUser(t.Context(), "alice")
		mustErr(t, "GetUser", err, nil)
		mustEqual(t, "GetUser", got, want)
	})

	t.Run("creating a username twice is ErrExists and keeps the first", func(t *testing.T) {
		s := h.store(t)
		first := sampleUser("alice")
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), first), nil)
		second := sampleUser("alice")
		second.PasswordHash = "$2a$14$other"
		mustErr(t, "CreateUser again", s.CreateUser(t.Context(), second), store.ErrExists)
		got, err := s.GetUser(t.Context(), "alice")
		mustErr(t, "GetUser", err, nil)
		mustEqual(t, "GetUser", got, first)
	})

	t.Run("an unknown user is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		got, err := s.GetUser(t.Context(), "nobody")
		mustErr(t, "GetUser", err, store.ErrNotFound)
		if got != nil {
			t.Fatalf("GetUser returned %+v with ErrNotFound", got)
		}
	})

	t.Run("users are listed sorted by username", func(t *testing.T) {
		s := h.store(t)
		list, err := s.ListUsers(t.Context())
		mustErr(t, "ListUsers on an empty store", err, nil)
		if len(list) != 0 {
			t.Fatalf("empty store lists %d users", len(list))
		}
		for _, name := range []string{"zoe", "bob", "alice/x", "alice"} {
			mustErr(t, "CreateUser "+name, s.CreateUser(t.Context(), sampleUser(name)), nil)
		}
		list, err = s.ListUsers(t.Context())
		mustErr(t, "ListUsers", err, nil)
		var names []string
		for _, u := range list {
			names = append(names, u.Username)
		}
		mustEqual(t, "ListUsers names", names, []string{"alice", "alice/x", "bob", "zoe"})
		if list[0].PasswordHash == "" {
			t.Fatal("listed user has no password hash")
		}
	})

	t.Run("updating a user replaces it", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), sampleUser("alice")), nil)
		next := sampleUser("alice")
		next.PasswordHash = "$argon2id$v=19$m=47104,t=1,p=1$c2FsdA$aGFzaA"
		mustErr(t, "UpdateUser", s.UpdateUser(t.Context(), next), nil)
		got, err := s.GetUser(t.Context(), "alice")
		mustErr(t, "GetUser", err, nil)
		mustEqual(t, "GetUser after update", got, next)
	})

	t.Run("updating an unknown user is ErrNotFound and creates nothing", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "UpdateUser", s.UpdateUser(t.Context(), sampleUser("ghost")), store.ErrNotFound)
		_, err := s.GetUser(t.Context(), "ghost")
		mustErr(t, "GetUser", err, store.ErrNotFound)
	})

	t.Run("a deleted user is gone and deleting it again is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), sampleUser("alice")), nil)
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), sampleUser("bob")), nil)
		mustErr(t, "DeleteUser", s.DeleteUser(t.Context(), "alice"), nil)
		_, err := s.GetUser(t.Context(), "alice")
		mustErr(t, "GetUser after delete", err, store.ErrNotFound)
		_, err = s.GetUser(t.Context(), "bob")
		mustErr(t, "GetUser of another user", err, nil)
		mustErr(t, "DeleteUser again", s.DeleteUser(t.Context(), "alice"), store.ErrNotFound)
	})
}
