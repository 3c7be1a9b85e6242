package storetest

import (
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func sampleUser(name string) *store.User {
	return &store.User{
		Username:     name,
		PasswordHash: "$2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9tK",
		CreatedAt:    now(),
	}
}

// claimedUser is a user with a subject and every standard claim, some
// with characters JSON escapes.
func claimedUser(name string) *store.User {
	u := sampleUser(name)
	u.Subject = "q3Vx0m8bH1u9r4wT_Zk-2A"
	u.UpdatedAt = now().Add(time.Minute)
	u.Claims = store.Claims{
		Name: "Zoë \"Z\" Ødegård", GivenName: "Zoë", FamilyName: "Ødegård", MiddleName: "Q", Nickname: "zo",
		Profile: "https://example.com/zoe", Picture: "https://example.com/zoe.png", Website: "https://zoe.example",
		Email: "zoe@example.com", EmailVerified: true, Gender: "female", Birthdate: "0000-04-01",
		Zoneinfo: "Europe/Oslo", Locale: "nb-NO", PhoneNumber: "+4712345678;ext=9", PhoneNumberVerified: true,
		Address: store.Address{
			Formatted: "Storgata 1\n0155 Oslo\nNorway", StreetAddress: "Storgata 1", Locality: "Oslo",
			Region: "Oslo", PostalCode: "0155", Country: "Norway",
		},
	}
	return u
}

func (h harness) testUsers(t *testing.T) {
	t.Run("a user with a subject and every claim reads back with every field", func(t *testing.T) {
		s := h.store(t)
		want := claimedUser("zoe")
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), want), nil)
		got, err := s.GetUser(t.Context(), "zoe")
		mustErr(t, "GetUser", err, nil)
		mustEqual(t, "GetUser", got, want)
		list, err := s.ListUsers(t.Context())
		mustErr(t, "ListUsers", err, nil)
		if len(list) != 1 {
			t.Fatalf("ListUsers: %d users", len(list))
		}
		mustEqual(t, "ListUsers", list[0], want)
	})

	t.Run("an update of the claims keeps the subject it carries and can clear claims", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), claimedUser("zoe")), nil)
		next := claimedUser("zoe")
		next.Claims = store.Claims{Email: "z@example.org"}
		next.UpdatedAt = now().Add(time.Hour)
		mustErr(t, "UpdateUser", s.UpdateUser(t.Context(), next), nil)
		got, err := s.GetUser(t.Context(), "zoe")
		mustErr(t, "GetUser", err, nil)
		mustEqual(t, "GetUser after update", got, next)
		if got.Subject != "q3Vx0m8bH1u9r4wT_Zk-2A" || got.Claims.Address != (store.Address{}) || got.Claims.EmailVerified {
			t.Fatalf("after update: %+v", got)
		}
	})

	t.Run("a user without subject or claims reads back without them", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "CreateUser", s.CreateUser(t.Context(), sampleUser("old")), nil)
		got, err := s.GetUser(t.Context(), "old")
		mustErr(t, "GetUser", err, nil)
		if got.Subject != "" || got.Claims != (store.Claims{}) || !got.UpdatedAt.IsZero() {
			t.Fatalf("GetUser: %+v", got)
		}
	})

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
