package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
)

func TestHomePageEscapesEverything(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	u := &socialauth.User{ID: "7", Username: evil, Email: evil + "@example.com", FirstName: evil, IsActive: true}
	d := homeData{User: u, FullName: evil, Social: []meSocial{{Provider: "edx-oauth2", UID: evil, UserID: evil}},
		Backends: []homeBackend{{Name: evil, LoginURL: "/login/" + evil + "/"}}, LMSURL: evil}
	var buf bytes.Buffer
	if err := homePage().Execute(&buf, d); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>") {
		t.Errorf("unescaped markup on the page:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "&lt;script&gt;") {
		t.Errorf("the values are missing from the page:\n%s", buf.String())
	}
}

func TestMeShape(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		userID any
		want   string
	}{
		{"numeric ids", "42", "1", `{"id":42,"username":"jsmith","email":"j@example.com","first_name":"Joe","last_name":"Smith","is_staff":true,"is_superuser":false,"social":[{"provider":"edx-oauth2","uid":"jsmith","user_id":1}]}`},
		{"LMS sends a number", "42", float64(1234), `{"id":42,"username":"jsmith","email":"j@example.com","first_name":"Joe","last_name":"Smith","is_staff":true,"is_superuser":false,"social":[{"provider":"edx-oauth2","uid":"jsmith","user_id":1234}]}`},
		{"no user_id, text id", "u-1", nil, `{"id":"u-1","username":"jsmith","email":"j@example.com","first_name":"Joe","last_name":"Smith","is_staff":true,"is_superuser":false,"social":[{"provider":"edx-oauth2","uid":"jsmith","user_id":null}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &socialauth.User{ID: tt.id, Username: "jsmith", Email: "j@example.com", FirstName: "Joe", LastName: "Smith", IsStaff: true}
			extra := map[string]any{"access_token": "SECRET-TOKEN", "refresh_token": "SECRET-REFRESH"}
			if tt.userID != nil {
				extra["user_id"] = tt.userID
			}
			got, err := json.Marshal(newMe(u, []*socialauth.UserSocialAuth{{Provider: "edx-oauth2", UID: "jsmith", ExtraData: extra}}))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("/me (-want +got):\n%s", diff)
			}
		})
	}
	empty, _ := json.Marshal(newMe(&socialauth.User{ID: "1"}, nil))
	if !strings.Contains(string(empty), `"social":[]`) {
		t.Errorf("no associations must be [], not null: %s", empty)
	}
}

func TestLoggerRedactsSecretKeys(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		logger, err := newLogger(&buf, slog.LevelDebug, format)
		if err != nil {
			t.Fatal(err)
		}
		logger.Debug("x", "client_secret", "CANARY1", "access_token", "CANARY2", "Code_Verifier", "CANARY3",
			slog.Group("g", "refresh_token", "CANARY4"), "code", "auth_canceled")
		out := buf.String()
		for _, c := range []string{"CANARY1", "CANARY2", "CANARY3", "CANARY4"} {
			if strings.Contains(out, c) {
				t.Errorf("%s: %s logged: %s", format, c, out)
			}
		}
		if !strings.Contains(out, "auth_canceled") {
			t.Errorf("%s: the error code was redacted: %s", format, out)
		}
	}
}

func TestKnownErrorCode(t *testing.T) {
	for code, want := range map[string]bool{
		"auth_canceled": true, "auth_state_forbidden": true, "server_error": true, "timeout": true,
		"": false, "made_up": false, "AUTH_CANCELED": false, "<b>": false, "auth_canceled ": false,
	} {
		if got := knownErrorCode(code); got != want {
			t.Errorf("knownErrorCode(%q) = %v, want %v", code, got, want)
		}
	}
}
