// Package apple is the "apple-id" backend: Sign in with Apple (OpenID
// Connect; python-social-auth's AppleIdAuth name, settings and uid: sub).
package apple

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_APPLE_ID_*).
const Name = "apple-id"

// New builds the backend from upstream's settings: CLIENT (the services
// id), TEAM, KEY (the key id), SECRET (the .p8 private key, PEM),
// AUDIENCE, EMAIL_AS_USERNAME, and the OIDC base's (OIDC_ENDPOINT defaults
// to https://appleid.apple.com). The client secret is an ES256 JWT signed
// with the key, renewed before it expires. Apple answers with form_post and
// sends the name (the user field) on the first sign-in only.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OIDC, error) {
	r := s.Reader(Name)
	client, team, keyID, key := r.Required("CLIENT"), r.Required("TEAM"), r.Required("KEY"), r.Required("SECRET")
	asUsername := r.Bool("EMAIL_AS_USERNAME", false)
	secret, err := backends.NewJWTClientSecret(backends.JWTClientSecret{KeyID: keyID, Issuer: team, Subject: client,
		Audience: "https://appleid.apple.com", PrivateKeyPEM: key, Now: opts.Now})
	if err != nil && key != "" {
		r.Invalid("SECRET", "must be the .p8 private key: PKCS#8 PEM of a P-256 key")
	}
	if err = backends.ReaderErr(Name, r); err != nil {
		return nil, err
	}
	cfg, err := backends.OIDCConfigFrom(s, backends.OIDCConfig{
		Endpoint: "https://appleid.apple.com",
		OAuth2: backends.OAuth2Config{
			Name:             Name,
			DefaultScope:     []string{"name", "email"},
			ClientSecretFunc: secret,
			FormPost:         true,
			CallbackParams:   []string{"user"},
			AuthParams: func(_ context.Context, _ *backends.OAuth2, _ socialauth.Strategy, _ *backends.Flow, p url.Values) error {
				p.Set("response_mode", "form_post")
				return nil
			},
			Details: func(resp map[string]any) socialauth.Details { return details(resp, asUsername) },
		},
	})
	if err != nil {
		return nil, err
	}
	cfg.OAuth2.Key, cfg.OAuth2.Secret = client, "" // KEY is the key id, CLIENT the client id
	opts.Apply(&cfg.OAuth2)
	return backends.NewOIDC(cfg)
}

// details: the email from the verified ID token (when Apple says it is
// verified); the names from the unsigned user JSON of the first sign-in,
// left out (not blank) afterwards so that the stored ones stay.
func details(resp map[string]any, emailAsUsername bool) socialauth.Details {
	c := backends.ClaimDetails(resp, backends.DetailKeys{Username: "sub", Email: "email", EmailVerified: "email_verified"})
	d := socialauth.Details{"username": c["username"], "email": c["email"]}
	if emailAsUsername && d["email"] != "" {
		d["username"] = d["email"]
	}
	var user struct {
		Name struct{ FirstName, LastName string } `json:"name"`
	}
	if raw, _ := resp["user"].(string); raw != "" && json.Unmarshal([]byte(raw), &user) == nil {
		full, first, last := backends.UserNames("", user.Name.FirstName, user.Name.LastName)
		for k, v := range map[string]string{"fullname": full, "first_name": first, "last_name": last} {
			if v != "" {
				d[k] = v
			}
		}
	}
	return d
}
